import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import { runCli, startServerProcess, type ServerProcess } from "../support/process.js";
import { auditLines, cliFails, cliOk, removeFromPostgres } from "../support/admin-cli.js";

// token:create, token:list, token:revoke and run-token:create beside a running server that accepts
// (and, once revoked, refuses) the tokens the CLI makes. No token text is ever listed or audited.

const dataDir = freshDataDir();
const env = { DATA_DIR: dataDir };
const tag = randomUUID().slice(0, 8);
const email = `tok-${tag}@test.local`;
const projectName = `cli-tok-${tag}`;

let server: ServerProcess;
let projectId: string;
let userId: string;

beforeAll(async () => {
  server = await startServerProcess(env);
  userId = (await cliOk<{ id: string }>(env, ["user:create", "--email", email])).id;
  projectId = (await cliOk<{ id: string }>(env, ["project:create", "--name", projectName])).id;
  await cliOk(env, ["project:add-member", "--project", projectName, "--email", email, "--role", "owner"]);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  await removeFromPostgres(`%-${tag}@test.local`, `%-${tag}%`);
});

const claims = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
const statusWith = async (token: string) =>
  (await fetch(`${server.url}/collections`, { headers: { authorization: `Bearer ${token}` } })).status;

interface Listed {
  id: string;
  label: string;
  scope: string;
  state: string;
  created: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

describe("admin CLI: tokens", { timeout: 240_000 }, () => {
  let writeToken: { id: string; token: string };

  it("token:create prints {id, token}; the server accepts it; the audit line names it without the token", async () => {
    const r = await runCli(["token:create", "--email", email.toUpperCase()], env);
    expect(r.code, r.stderr).toBe(0);
    writeToken = r.json as { id: string; token: string };
    expect(writeToken).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
    });
    expect(claims(writeToken.token)).toMatchObject({
      sub: `user:${userId}`,
      scope: "write",
      jti: writeToken.id,
    });
    expect(auditLines(r)).toMatchObject([
      {
        action: "token.create",
        actor: { kind: "cli" },
        target: { token_id: writeToken.id, user_id: userId, email, scope: "write", expires_at: null },
      },
    ]);
    expect(r.stderr).not.toContain(writeToken.token);
    expect(await statusWith(writeToken.token)).toBe(200);
    await cliFails(env, ["token:create", "--email", `ghost-${tag}@test.local`], 1, /No user with email/);
  });

  it("token:create --scope read --expires-in N --label L: a read token living exactly N seconds", async () => {
    const t = await cliOk<{ id: string; token: string }>(env, [
      "token:create",
      "--email",
      email,
      "--scope",
      "read",
      "--expires-in",
      "60",
      "--label",
      "laptop",
    ]);
    const c = claims(t.token) as { exp: number; iat: number; scope: string };
    expect(c.exp - c.iat).toBe(60);
    expect(c.scope).toBe("read");
    const listed = await cliOk<{ user: unknown; tokens: Listed[] }>(env, ["token:list", "--email", email]);
    expect(listed.user).toEqual({ id: userId, email });
    expect(listed.tokens[0]).toEqual({
      id: t.id,
      label: "laptop",
      scope: "read",
      state: "active",
      created: expect.stringMatching(/Z$/),
      expires_at: new Date(c.exp * 1000).toISOString(),
      last_used_at: null,
      revoked_at: null,
    });
  });

  it("token:list shows ids, labels, scopes, dates and states, never a token", async () => {
    const short = await cliOk<{ id: string }>(env, [
      "token:create",
      "--email",
      email,
      "--expires-in",
      "1",
      "--label",
      "short",
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    const r = await runCli(["token:list", "--email", email], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/eyJ/);
    expect(auditLines(r)).toEqual([]); // a read writes no audit line
    const { tokens } = r.json as { tokens: Listed[] };
    expect(tokens.map((t) => t.label)).toEqual(["short", "laptop", ""]);
    expect(tokens.find((t) => t.id === short.id)?.state).toBe("expired");
    expect(tokens.find((t) => t.id === writeToken.id)).toMatchObject({
      state: "active",
      scope: "write",
      expires_at: null,
      last_used_at: expect.stringMatching(/Z$/),
    });

    const other = `tok-none-${tag}@test.local`;
    await cliOk(env, ["user:create", "--email", other]);
    expect(await cliOk(env, ["token:list", "--email", other])).toMatchObject({ tokens: [] });
    await cliFails(env, ["token:list", "--email", `ghost-${tag}@test.local`], 1, /No user with email/);
  });

  it("token:revoke: refused by the server at the next request, listed as revoked, idempotent, audited", async () => {
    const r = await runCli(["token:revoke", "--id", writeToken.id.toUpperCase()], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({ id: writeToken.id, revoked: true });
    expect(auditLines(r)).toMatchObject([
      { action: "token.revoke", actor: { kind: "cli" }, target: { token_id: writeToken.id } },
    ]);
    expect(await statusWith(writeToken.token)).toBe(401);
    const { tokens } = await cliOk<{ tokens: Listed[] }>(env, ["token:list", "--email", email]);
    expect(tokens.find((t) => t.id === writeToken.id)).toMatchObject({
      state: "revoked",
      revoked_at: expect.stringMatching(/Z$/),
    });
    expect(await cliOk(env, ["token:revoke", "--id", writeToken.id])).toEqual({
      id: writeToken.id,
      revoked: true,
    });
    await cliFails(env, ["token:revoke", "--id", randomUUID()], 1, /No token with id/);
  });

  it("run-token:create mints a run token the server accepts for the project; ttl and run id are checked", async () => {
    const r = await runCli(
      ["run-token:create", "--project", projectName, "--run", "run-42", "--ttl", "120"],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const t = r.json as { token: string; expires_at: string; run_id: string; project_id: string };
    expect(t).toMatchObject({ run_id: "run-42", project_id: projectId });
    const c = claims(t.token) as { sub: string; project_id: string; exp: number; iat: number };
    expect(c).toMatchObject({ sub: "run:run-42", project_id: projectId });
    expect(c.exp - c.iat).toBe(120);
    expect(t.expires_at).toBe(new Date(c.exp * 1000).toISOString());
    expect(auditLines(r)).toMatchObject([
      {
        action: "run_token.create",
        target: { project_id: projectId, run_id: "run-42", expires_at: t.expires_at },
      },
    ]);
    expect(r.stderr).not.toContain(t.token);
    expect(await statusWith(t.token)).toBe(200);

    const byId = await cliOk<{ run_id: string }>(env, ["run-token:create", "--project", projectId]);
    expect(byId.run_id).toMatch(/^[0-9a-f-]{36}$/);
    await cliFails(
      env,
      ["run-token:create", "--project", projectName, "--ttl", "999999"],
      2,
      /RUN_TOKEN_MAX_TTL_SECONDS/,
    );
    await cliFails(env, ["run-token:create", "--project", projectName, "--run", "has space"], 2, /run id/);
    await cliFails(env, ["run-token:create", "--project", `nope-${tag}`], 1, /No project/);
  });
});

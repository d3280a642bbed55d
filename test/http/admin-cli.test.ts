import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { testEnv } from "../support/env.js";
import { freshDataDir } from "../support/services.js";
import { runCli } from "../support/process.js";

// The admin CLI as an operator runs it (SPEC §8), without a server: every command and its bad inputs.

const dataDir = freshDataDir();
const env = { DATA_DIR: dataDir };
const tag = randomUUID().slice(0, 8);
const email = `cli-${tag}@test.local`;
const projectName = `cli-project-${tag}`;
const cli = (...args: string[]) => runCli(args, env);

afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  const url = testEnv().DATABASE_URL;
  if (!url) return;
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  await pool.query("DELETE FROM projects WHERE name LIKE $1", [`${projectName}%`]);
  await pool.query("DELETE FROM users WHERE email LIKE $1", [`%-${tag}@test.local`]);
  await pool.end();
});

describe("admin CLI", { timeout: 240_000 }, () => {
  let userId: string;
  let projectId: string;

  beforeAll(async () => {
    const user = await cli("user:create", "--email", email);
    expect(user.stderr).toBe("");
    expect(user.code).toBe(0);
    userId = (user.json as { id: string }).id;
    const project = await cli("project:create", "--name", projectName);
    expect(project.code).toBe(0);
    projectId = (project.json as { id: string }).id;
  });

  it("user:create prints { id, email } and refuses a duplicate or a bad address", async () => {
    expect(userId).toMatch(/^[0-9a-f-]{36}$/);
    const dup = await cli("user:create", "--email", email);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
    expect(dup.stdout).toBe("");
    const bad = await cli("user:create", "--email", "not-an-email");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/email/i);
  });

  it("project:create prints { id, name } and refuses a duplicate name", async () => {
    expect(projectId).toMatch(/^[0-9a-f-]{36}$/);
    const dup = await cli("project:create", "--name", projectName);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
  });

  it("project:add-member takes the project by name or id, and validates role, project and user", async () => {
    const byName = await cli("project:add-member", "--project", projectName, "--email", email, "--role", "editor");
    expect(byName.code).toBe(0);
    expect(byName.json).toEqual({ project_id: projectId, user_id: userId, role: "editor" });
    const byId = await cli("project:add-member", "--project", projectId, "--email", email, "--role", "admin");
    expect(byId.json).toEqual({ project_id: projectId, user_id: userId, role: "admin" });

    const badRole = await cli("project:add-member", "--project", projectName, "--email", email, "--role", "superuser");
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toMatch(/role/);
    const noProject = await cli("project:add-member", "--project", "nope-" + tag, "--email", email, "--role", "viewer");
    expect(noProject.code).toBe(1);
    expect(noProject.stderr).toMatch(/No project/);
    const noUser = await cli("project:add-member", "--project", projectName, "--email", `ghost-${tag}@test.local`, "--role", "viewer");
    expect(noUser.code).toBe(1);
    expect(noUser.stderr).toMatch(/No user/);
  });

  it("collection:create and collection:delete, with name validation and per-project uniqueness", async () => {
    const created = await cli("collection:create", "--project", projectName, "--name", "orders-2024");
    expect(created.code).toBe(0);
    expect(created.json).toMatchObject({ name: "orders-2024", project_id: projectId });
    expect((created.json as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/);

    const dup = await cli("collection:create", "--project", projectId, "--name", "orders-2024");
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);

    const other = await cli("project:create", "--name", `${projectName}-b`);
    const same = await cli("collection:create", "--project", (other.json as { id: string }).id, "--name", "orders-2024");
    expect(same.code).toBe(0);

    for (const bad of ["Orders", "a--b", "-a", "a".repeat(65), "with space"]) {
      const r = await cli("collection:create", "--project", projectName, "--name", bad);
      expect(r.code, bad).not.toBe(0);
      expect(r.stderr, bad).toMatch(/collection name/);
    }
    const unknownProject = await cli("collection:create", "--project", "nope-" + tag, "--name", "x");
    expect(unknownProject.code).toBe(1);

    const deleted = await cli("collection:delete", "--project", projectName, "--name", "orders-2024");
    expect(deleted.json).toEqual({ deleted: true });
    const again = await cli("collection:delete", "--project", projectName, "--name", "orders-2024");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not found/);
  });

  it("token:create, token:revoke and run-token:create", async () => {
    const token = await cli("token:create", "--email", email);
    expect(token.code).toBe(0);
    const t = token.json as { id: string; token: string };
    expect(t.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(t.token.split(".")).toHaveLength(3);

    const scoped = await cli("token:create", "--email", email, "--scope", "read", "--expires-in", "60");
    expect(scoped.code).toBe(0);
    const payload = JSON.parse(Buffer.from((scoped.json as { token: string }).token.split(".")[1]!, "base64url").toString());
    expect(payload.exp - payload.iat).toBe(60);

    expect((await cli("token:create", "--email", email, "--scope", "admin")).code).toBe(2);
    expect((await cli("token:create", "--email", email, "--expires-in", "-5")).code).toBe(2);
    expect((await cli("token:create", "--email", `ghost-${tag}@test.local`)).code).toBe(1);

    expect((await cli("token:revoke", "--id", t.id)).json).toEqual({ revoked: true });
    const unknown = await cli("token:revoke", "--id", randomUUID());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No token/);

    const run = await cli("run-token:create", "--project", projectName, "--run", "run-42", "--ttl", "120");
    expect(run.code).toBe(0);
    const r = run.json as { token: string; expires_at: string };
    const claims = JSON.parse(Buffer.from(r.token.split(".")[1]!, "base64url").toString());
    expect(claims.sub).toBe("run:run-42");
    expect(Math.abs(Date.parse(r.expires_at) - (Date.now() + 120_000))).toBeLessThan(30_000);
    expect((await cli("run-token:create", "--project", "nope-" + tag)).code).toBe(1);
  });

  it("rejects unknown commands, unknown or missing flags with usage and exit 2", async () => {
    const unknown = await cli("user:explode");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown command 'user:explode'/);
    expect(unknown.stderr).toMatch(/user:create --email/);
    const missing = await cli("project:add-member", "--project", projectName);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Missing --email, --role/);
    const noValue = await cli("user:create", "--email");
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toMatch(/needs a value/);
    const badFlag = await cli("user:create", "--email", email, "--admin", "yes");
    expect(badFlag.code).toBe(2);
    expect((await cli()).code).toBe(2);
  });
});

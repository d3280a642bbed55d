import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { userInfo } from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import { runCli } from "../support/process.js";
import { auditLines, cliFails, cliOk, removeFromPostgres } from "../support/admin-cli.js";

// user:create, user:list, user:disable, user:enable on the test storage (embedded: the CLI opens the
// data directory itself), through node, the bin and `npm run -s admin`.

const dataDir = freshDataDir();
const env = { DATA_DIR: dataDir };
const tag = randomUUID().slice(0, 8);
const email = `cli-user-${tag}@test.local`;

afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await removeFromPostgres(`%-${tag}@test.local`, `%-${tag}`);
});

interface UserRow {
  id: string;
  email: string;
  disabled: boolean;
  created: string;
  projects: number;
}

describe("admin CLI: users", { timeout: 240_000 }, () => {
  let userId: string;

  it("user:create prints {id, email} (email in lower case) and writes one audit line on stderr", async () => {
    const r = await runCli(["user:create", "--email", email.toUpperCase()], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), email });
    expect(r.stdout).toBe(JSON.stringify(r.json) + "\n");
    userId = (r.json as { id: string }).id;
    const audit = auditLines(r);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      level: "info",
      msg: "audit",
      action: "user.create",
      actor: { kind: "cli", os_user: userInfo().username },
      target: { user_id: userId, email },
    });
  });

  it("user:create refuses a duplicate with exit 1 and a message", async () => {
    const dup = await cliFails(
      env,
      ["user:create", "--email", email],
      1,
      /collections-admin: A user with email '.*' already exists/,
    );
    expect(auditLines(dup)).toEqual([]);
  });

  it("user:list prints every user in one document, by email", async () => {
    await cliOk(env, ["user:create", "--email", `a-cli-user-${tag}@test.local`]);
    const { users } = await cliOk<{ users: UserRow[] }>(env, ["user:list"]);
    const mine = users.filter((u) => u.email.endsWith(`-${tag}@test.local`));
    expect(mine.map((u) => u.email)).toEqual([`a-cli-user-${tag}@test.local`, email]);
    expect(mine[1]).toEqual({
      id: userId,
      email,
      disabled: false,
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      projects: 0,
    });
    const emails = users.map((u) => u.email);
    expect(emails).toEqual([...emails].sort());
  });

  it("user:disable and user:enable flip the flag that user:list shows, each with an audit line", async () => {
    const disable = await runCli(["user:disable", "--email", email], env);
    expect(disable.code, disable.stderr).toBe(0);
    expect(disable.json).toEqual({ id: userId, email, disabled: true });
    expect(auditLines(disable)).toMatchObject([
      { action: "user.disable", actor: { kind: "cli" }, target: { user_id: userId, email } },
    ]);
    const listed = await cliOk<{ users: UserRow[] }>(env, ["user:list"]);
    expect(listed.users.find((u) => u.id === userId)?.disabled).toBe(true);

    const enable = await runCli(["user:enable", "--email", email], env);
    expect(enable.json).toEqual({ id: userId, email, disabled: false });
    expect(auditLines(enable)).toMatchObject([{ action: "user.enable", target: { user_id: userId } }]);

    await cliFails(
      env,
      ["user:disable", "--email", `ghost-${tag}@test.local`],
      1,
      /No user with email 'ghost-/,
    );
    await cliFails(env, ["user:enable", "--email", `ghost-${tag}@test.local`], 1, /No user with email/);
  });

  it("prints exactly one JSON document through the bin and through `npm run -s admin`", async () => {
    for (const via of ["bin", "npm"] as const) {
      const r = await runCli(["user:list"], env, { via });
      expect(r.code, `${via}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim().split("\n"), via).toHaveLength(1);
      expect(
        (r.json as { users: UserRow[] }).users.some((u) => u.id === userId),
        via,
      ).toBe(true);
    }
    const created = await runCli(["user:create", "--email", `npm-cli-user-${tag}@test.local`], env, {
      via: "npm",
    });
    expect(created.code, created.stderr).toBe(0);
    expect(created.json).toMatchObject({ email: `npm-cli-user-${tag}@test.local` });
    expect(auditLines(created)).toHaveLength(1);
  });
});

import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { freshDataDir } from "../support/services.js";
import { runCli } from "../support/process.js";
import { testEnv } from "../support/env.js";
import { cliOk, removeFromPostgres } from "../support/admin-cli.js";

// Which storage the admin CLI opens, and that only user:create and project:create ever set up a
// database: every other command, pointed at a place with none, exits 1 and leaves nothing behind.
// The embedded cases run in both suites (DATABASE_URL unset for them); the PostgreSQL ones on a server.

const scratch = mkdtempSync(join(tmpdir(), "collections-cli-storage-"));
const tag = randomUUID().slice(0, 8);
const postgresUrl = testEnv().DATABASE_URL;
const embeddedIn = (dir: string) => ({ DATABASE_URL: "", DATA_DIR: dir });

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await removeFromPostgres(`%-${tag}@test.local`, `%-${tag}`);
});

const uuid = randomUUID();
/** Every command that needs an existing database, with well-formed flags. */
const needsDatabase: string[][] = [
  ["user:list"],
  ["user:disable", "--email", "a@b.org"],
  ["user:enable", "--email", "a@b.org"],
  ["project:list"],
  ["project:members", "--project", "p"],
  ["project:add-member", "--project", "p", "--email", "a@b.org", "--role", "viewer"],
  ["project:remove-member", "--project", "p", "--email", "a@b.org"],
  ["project:delete", "--project", "p", "--yes"],
  ["collection:create", "--project", "p", "--name", "c"],
  ["collection:list"],
  ["collection:delete", "--project", "p", "--name", "c"],
  ["token:create", "--email", "a@b.org"],
  ["token:list", "--email", "a@b.org"],
  ["token:revoke", "--id", uuid],
  ["run-token:create", "--project", "p"],
];

describe("admin CLI storage", { timeout: 240_000 }, () => {
  it("a command that reads or changes things exits 1 on an empty DATA_DIR, naming it, and creates nothing", async () => {
    const empty = mkdtempSync(join(scratch, "empty-"));
    const absent = join(scratch, "absent");
    const results = await Promise.all([
      ...needsDatabase.map((args) => runCli(args, embeddedIn(empty))),
      ...needsDatabase.map((args) => runCli(args, embeddedIn(absent))),
    ]);
    results.forEach((r, i) => {
      const args = needsDatabase[i % needsDatabase.length]!;
      const dir = i < needsDatabase.length ? empty : absent;
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(`There is no collections database in DATA_DIR=${dir}`);
      expect(r.stderr).toContain(`${args[0]} works on an existing database only`);
    });
    expect(readdirSync(empty)).toEqual([]);
    expect(existsSync(absent)).toBe(false);
  });

  it("user:create sets up a database in an empty DATA_DIR (saying so on stderr); reads then work", async () => {
    const dir = join(scratch, "first-run");
    const r = await runCli(["user:create", "--email", `first-${tag}@test.local`], embeddedIn(dir));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`collections-admin: storage embedded ${dir}\n`);
    expect(r.stderr).toMatch(/collections-admin: applied migrations \d+_init/);
    const { users } = await cliOk<{ users: { email: string }[] }>(embeddedIn(dir), ["user:list"]);
    expect(users.map((u) => u.email)).toEqual([`first-${tag}@test.local`]);
  });

  it("refuses an embedded DATA_DIR that another process holds without a server socket", async () => {
    const dir = freshDataDir();
    try {
      writeFileSync(join(dir, "collections.lock"), String(process.pid)); // this test process, alive
      const r = await runCli(["user:list"], embeddedIn(dir));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`in use by process ${process.pid}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an unreachable PostgreSQL server is exit 1 with the driver's reason, and no password anywhere", async () => {
    const r = await runCli(["user:list"], {
      DATABASE_URL: "postgresql://admin:s3cret-pass@127.0.0.1:1/nowhere",
      DB_CONNECT_TIMEOUT_MS: "2000",
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/Cannot open the database: .*ECONNREFUSED|Cannot open the database: .*connect/);
    expect(r.stderr).not.toContain("s3cret-pass");
  });

  it.runIf(postgresUrl)(
    "on a PostgreSQL database without the service's tables, reads exit 1 and create none",
    async () => {
      const name = `cli_empty_${tag}`;
      const admin = new pg.Pool({ connectionString: postgresUrl, max: 1 });
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(postgresUrl!);
      url.pathname = `/${name}`;
      const env = { DATABASE_URL: url.toString() };
      try {
        const r = await runCli(["user:list"], env);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
          `There is no collections database in postgresql ${url.hostname}:${url.port || 5432}/${name}`,
        );
        const check = new pg.Pool({ connectionString: url.toString(), max: 1 });
        const { rows } = await check.query(
          "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'",
        );
        await check.end();
        expect(rows[0].n).toBe(0);

        const created = await runCli(["project:create", "--name", `first-${tag}`], env);
        expect(created.code, created.stderr).toBe(0);
        expect(created.stderr).toMatch(/applied migrations/);
        expect((await cliOk<{ projects: unknown[] }>(env, ["project:list"])).projects).toHaveLength(1);
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      }
    },
  );
});

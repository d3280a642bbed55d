import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commands, ROLES, SCOPES } from "../../server/cli/commands.js";
import { runCli } from "../support/process.js";

// The admin CLI's help, version and usage errors as an operator meets them: stdout and exit 0 for help,
// stderr and exit 2 for mistakes, never a storage opened, never a database driver loaded.

const scratch = mkdtempSync(join(tmpdir(), "collections-cli-help-"));
// Storage settings that would fail if anything tried to open them.
const env = {
  DATA_DIR: join(scratch, "absent"),
  DATABASE_URL: "postgresql://nobody:secret@127.0.0.1:1/none",
};
const cli = (...args: string[]) => runCli(args, env);
const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("admin CLI help", { timeout: 120_000 }, () => {
  it("--help, -h and help print the tool's usage on stdout with every command and the allowed values", async () => {
    const outputs = await Promise.all([
      cli("--help"),
      cli("-h"),
      cli("help"),
      runCli(["--help"], env, { via: "bin" }),
    ]);
    for (const r of outputs) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(outputs[0]!.stdout);
    }
    const text = outputs[0]!.stdout;
    for (const c of commands) expect(text).toContain(c.name);
    expect(text).toContain(ROLES.join(" | "));
    expect(text).toContain(SCOPES.join(" | "));
    expect(text).toMatch(/Exit codes: 0 .*; 1 .*; 2 usage error/);
    expect(text).toMatch(/Examples:\n  collections-admin /);
  });

  it("<command> --help prints that command's usage, flags, allowed values, output and example", async () => {
    const results = await Promise.all(commands.map((c) => cli(c.name, "--help")));
    commands.forEach((c, i) => {
      const r = results[i]!;
      expect(r.code, c.name).toBe(0);
      expect(r.stderr, c.name).toBe("");
      expect(r.stdout, c.name).toMatch(new RegExp(`^usage: collections-admin ${c.name}`));
      for (const f of c.flags) expect(r.stdout, c.name).toContain(`--${f.name}`);
      expect(r.stdout, c.name).toMatch(/Prints: \{/);
      expect(r.stdout, c.name).toMatch(new RegExp(`Examples?:\\n  collections-admin ${c.name}`));
    });
    expect(results[commands.findIndex((c) => c.name === "project:add-member")]!.stdout).toContain(
      "--role owner|admin|editor|viewer",
    );
    expect(results[commands.findIndex((c) => c.name === "token:create")]!.stdout).toContain(
      "[--scope read|write]",
    );
    // with other flags too, and as `help <command>`
    const [withFlags, helpCommand] = await Promise.all([
      cli("token:create", "--email", "x", "-h"),
      cli("help", "token:create"),
    ]);
    expect(withFlags.code).toBe(0);
    expect(helpCommand.stdout).toBe(withFlags.stdout);
  });

  it("--version prints the package version", async () => {
    const r = await cli("--version");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`collections-admin ${pkg.version}\n`);
  });

  it("a usage error exits 2 with the message and the command's usage on stderr, nothing on stdout", async () => {
    const cases: [string[], RegExp, RegExp][] = [
      [[], /No command given/, /Users:\n  user:create --email EMAIL/],
      [["user:explode"], /Unknown command 'user:explode'/, /user:create --email EMAIL/],
      [
        ["project:add-member", "--project", "p"],
        /Missing --email, --role for project:add-member/,
        /usage: collections-admin project:add-member/,
      ],
      [["user:create", "--email"], /--email needs a value/, /usage: collections-admin user:create/],
      [
        ["user:create", "--email", "a@b.org", "--admin", "yes"],
        /Unknown flag --admin/,
        /usage: collections-admin user:create/,
      ],
      [
        ["project:add-member", "--project", "p", "--email", "a@b.org", "--role", "superuser"],
        /--role must be one of owner, admin, editor, viewer/,
        /--role owner\|admin\|editor\|viewer/,
      ],
      [
        ["token:create", "--email", "a@b.org", "--scope", "admin"],
        /--scope must be one of read, write/,
        /usage: collections-admin token:create/,
      ],
      [
        ["token:create", "--email", "a@b.org", "--expires-in", "-5"],
        /positive whole number of seconds/,
        /--expires-in SECONDS/,
      ],
      [
        ["project:delete", "--project", "p"],
        /add --yes to confirm/,
        /usage: collections-admin project:delete --project PROJECT --yes/,
      ],
      // values the services' own checks refuse, before any storage is opened
      [
        ["user:create", "--email", "not-an-email"],
        /Invalid email 'not-an-email'/,
        /usage: collections-admin user:create/,
      ],
      [
        ["project:add-member", "--project", "p", "--email", "nope", "--role", "viewer"],
        /Invalid email/,
        /usage: collections-admin project:add-member/,
      ],
      [
        ["collection:create", "--project", "p", "--name", "Orders"],
        /Invalid collection name 'Orders'/,
        /usage: collections-admin collection:create/,
      ],
      [["project:create", "--name", " "], /Invalid project name/, /usage: collections-admin project:create/],
      [["token:revoke", "--id", "42"], /Invalid token id '42'/, /usage: collections-admin token:revoke/],
    ];
    const results = await Promise.all(cases.map(([argv]) => cli(...argv)));
    cases.forEach(([argv, message, usage], i) => {
      const r = results[i]!;
      const what = argv.join(" ") || "(no arguments)";
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stdout, what).toBe("");
      expect(r.stderr, what).toMatch(message);
      expect(r.stderr, what).toMatch(usage);
      expect(r.stderr, what).not.toMatch(/collections-admin: storage /);
    });
  });

  it("a bad configuration exits 2 naming the setting", async () => {
    const r = await runCli(["user:list"], { ...env, DB_POOL_SIZE: "lots" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/DB_POOL_SIZE/);
    expect(r.stdout).toBe("");
  });

  it("help and usage errors load neither Prisma, nor PGlite, nor pg, nor the configuration", async () => {
    const loaded = async (args: string[]) => {
      const file = join(scratch, `imports-${Math.random().toString(36).slice(2)}.txt`);
      const r = await runCli(
        args,
        { ...env, RECORD_IMPORTS_FILE: file },
        { nodeArgs: ["--import", "./test/support/record-imports.mjs"] },
      );
      const urls = readFileSync(file, "utf8").trim().split("\n");
      return { r, urls };
    };
    for (const args of [
      ["--help"],
      ["token:create", "--help"],
      ["user:explode"],
      ["token:create", "--email", "a@b.org", "--scope", "admin"],
      ["project:delete", "--project", "p"],
    ]) {
      const { r, urls } = await loaded(args);
      expect(r.code, args.join(" ")).toBe(args.includes("--help") ? 0 : 2);
      expect(
        urls.some((u) => u.endsWith("dist/admin.js")),
        args.join(" "),
      ).toBe(true);
      const heavy = urls.filter(
        (u) =>
          /node_modules\/(@prisma|@electric-sql|pg|pglite-prisma-adapter|pino|zod)\//.test(u) ||
          /\/chunks\/(db|env|run)-/.test(u),
      );
      expect(heavy, args.join(" ")).toEqual([]);
    }
    // a command that runs does load them (the recorder works)
    const { urls } = await loaded(["user:list"]);
    expect(urls.some((u) => u.includes("node_modules/pg/"))).toBe(true);
  });
});

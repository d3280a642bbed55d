import { describe, expect, it } from "vitest";
import { roleSchema, tokenScopeSchema } from "../../contracts/common.js";
import { parseArgs, UsageError } from "../../server/cli/args.js";
import { commands, ROLES, SCOPES } from "../../server/cli/commands.js";
import { commandHelp, toolHelp } from "../../server/cli/help.js";

// The admin CLI's command line (server/cli/args.ts) against its command table, without a process.

function usageError(argv: string[]): UsageError {
  try {
    parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error(`${argv.join(" ")} parsed without a usage error`);
}

describe("admin CLI arguments", () => {
  it("lists the same roles and scopes as the contracts", () => {
    expect([...ROLES]).toEqual(roleSchema.options);
    expect([...SCOPES]).toEqual(tokenScopeSchema.options);
  });

  it("parses flags as --name value and --name=value, and switches", () => {
    const add = parseArgs(["project:add-member", "--project", "p", "--email=a@b.org", "--role", "viewer"]);
    expect(add).toMatchObject({
      kind: "run",
      command: { name: "project:add-member" },
      flags: { project: "p", email: "a@b.org", role: "viewer" },
    });
    expect(parseArgs(["project:delete", "--project", "p", "--yes"])).toMatchObject({
      flags: { project: "p", yes: "" },
    });
    expect(parseArgs(["token:create", "--email", "a@b.org", "--label="])).toMatchObject({
      flags: { label: "" },
    });
    expect(parseArgs(["collection:list"])).toMatchObject({ kind: "run", flags: {} });
  });

  it("recognises help and version wherever they are asked for", () => {
    for (const argv of [["--help"], ["-h"], ["help"]]) expect(parseArgs(argv)).toEqual({ kind: "help" });
    for (const argv of [
      ["token:create", "--help"],
      ["token:create", "--email", "x", "-h"],
      ["help", "token:create"],
    ]) {
      expect(parseArgs(argv)).toMatchObject({ kind: "help", command: { name: "token:create" } });
    }
    expect(parseArgs(["--version"])).toEqual({ kind: "version" });
  });

  it("refuses every malformed command line with a message naming the problem", () => {
    expect(usageError([]).message).toMatch(/No command/);
    expect(usageError(["user:lst"]).message).toMatch(/Unknown command 'user:lst'. Did you mean user:list\?/);
    expect(usageError(["--verbose"]).message).toMatch(/Unknown option '--verbose'/);
    expect(usageError(["help", "nope"]).message).toMatch(/Unknown command 'nope'/);
    const cases: [string[], RegExp][] = [
      [["user:create", "--email"], /--email needs a value \(EMAIL\)/],
      [["user:create", "--email", "--name"], /--email needs a value/],
      [["user:create", "--email", ""], /not an empty one/],
      [["user:create", "--email", "a@b.org", "--admin", "yes"], /Unknown flag --admin for user:create/],
      [["user:create", "--email", "a@b.org", "--email", "c@d.org"], /--email is given twice/],
      [["user:create", "a@b.org"], /Unexpected argument 'a@b.org'/],
      [["project:add-member", "--project", "p"], /Missing --email, --role for project:add-member/],
      [
        ["project:add-member", "--project", "p", "--email", "a@b.org", "--role", "root"],
        /--role must be one of owner, admin, editor, viewer, not 'root'/,
      ],
      [["token:create", "--email", "a@b.org", "--scope", "admin"], /--scope must be one of read, write/],
      [["token:create", "--email", "a@b.org", "--expires-in", "-5"], /positive whole number of seconds/],
      [["token:create", "--email", "a@b.org", "--expires-in", "1.5"], /positive whole number of seconds/],
      [["run-token:create", "--project", "p", "--ttl", "0"], /positive whole number of seconds/],
      [["project:delete", "--project", "p"], /cannot be undone .*add --yes to confirm/],
      [["project:delete", "--project", "p", "--yes=no"], /--yes takes no value/],
    ];
    for (const [argv, message] of cases) {
      const e = usageError(argv);
      expect(e.message, argv.join(" ")).toMatch(message);
      expect(e.command?.name, argv.join(" ")).toBe(argv[0]);
    }
  });

  it("documents every command, its flags, allowed values, output and an example", () => {
    const help = toolHelp();
    for (const c of commands) {
      expect(help).toContain(c.name);
      const text = commandHelp(c);
      expect(text).toMatch(new RegExp(`^usage: collections-admin ${c.name}`));
      for (const f of c.flags) expect(text).toContain(`--${f.name}`);
      expect(text).toContain(`Prints: ${c.prints}`);
      expect(text).toMatch(/Examples?:\n  collections-admin /);
    }
    expect(commandHelp(commands.find((c) => c.name === "project:add-member")!)).toContain(
      "owner|admin|editor|viewer",
    );
    expect(commandHelp(commands.find((c) => c.name === "token:create")!)).toContain("read|write");
  });
});

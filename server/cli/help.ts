import { commands, ROLES, SCOPES, type CommandSpec, type FlagSpec, type Group } from "./commands.js";

// The usage texts of `--help` (stdout, exit 0) and of usage errors (stderr, exit 2). The README's admin
// CLI section shows toolHelp() verbatim; a test keeps the two equal.

export const PROGRAM = "collections-admin";

const groupTitles: Record<Group, string> = {
  users: "Users",
  projects: "Projects",
  collections: "Collections",
  tokens: "Tokens",
};

function flagUsage(f: FlagSpec): string {
  const text = f.value ? `--${f.name} ${f.choices ? f.choices.join("|") : f.value}` : `--${f.name}`;
  return f.required ? text : `[${text}]`;
}

export const usageLine = (c: CommandSpec) => [c.name, ...c.flags.map(flagUsage)].join(" ");

const column = (left: string, right: string, width: number) => `  ${left.padEnd(width)}  ${right}`;

export function toolHelp(): string {
  const lines = [
    `${PROGRAM}: administer the collections service (users, projects, members, collections, tokens)`,
    "",
    `usage: ${PROGRAM} <command> [--flag value]...      (or: npm run -s admin -- <command> ...)`,
    `       ${PROGRAM} <command> --help                 flags, output and an example of one command`,
    `       ${PROGRAM} --help | --version`,
  ];
  for (const group of Object.keys(groupTitles) as Group[]) {
    lines.push("", `${groupTitles[group]}:`);
    for (const c of commands.filter((c) => c.group === group))
      lines.push(column(usageLine(c), "", 0).trimEnd(), `      ${c.summary}`);
  }
  lines.push(
    "",
    "Values:",
    column("PROJECT", "a project's name or id", 8),
    column("ROLE", `${ROLES.join(" | ")}`, 8),
    column("SCOPE", `${SCOPES.join(" | ")}`, 8),
    column("SECONDS", "a positive whole number", 8),
    "",
    "Output: one JSON document on stdout. stderr: which storage was opened, one JSON audit line per change,",
    "and messages.",
    "Exit codes: 0 done; 1 failed (not found, conflict, no database, storage unreachable); 2 usage error",
    "(unknown command or flag, missing flag, bad value; also a bad configuration).",
    "",
    "Storage: DATABASE_URL (PostgreSQL) or, without it, the embedded database in DATA_DIR (default ./data),",
    "through the running server's socket while a server holds that directory. Only user:create and",
    "project:create set up a database where there is none; every other command exits 1 instead.",
    "",
    "Examples:",
    `  ${PROGRAM} user:create --email ada@example.org`,
    `  ${PROGRAM} project:add-member --project clinic --email ada@example.org --role editor`,
    `  ${PROGRAM} token:create --email ada@example.org --scope read | jq -r .token`,
  );
  return lines.join("\n") + "\n";
}

export function commandHelp(c: CommandSpec): string {
  const width = Math.max(0, ...c.flags.map((f) => flagUsage(f).length));
  const lines = [
    `usage: ${PROGRAM} ${usageLine(c)}`,
    "",
    `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`,
  ];
  if (c.flags.length) {
    lines.push("", "Flags:");
    for (const f of c.flags) lines.push(column(flagUsage(f), f.help, width));
  }
  lines.push("", `Prints: ${c.prints}`);
  if (c.notes?.length) lines.push("", ...c.notes);
  lines.push(
    "",
    c.createsDatabase
      ? "Storage: sets up the database (DATA_DIR or DATABASE_URL) when there is none yet."
      : "Storage: needs an existing database; where there is none it exits 1 and creates nothing.",
  );
  lines.push(
    "",
    c.examples.length > 1 ? "Examples:" : "Example:",
    ...c.examples.map((e) => `  ${PROGRAM} ${e}`),
  );
  return lines.join("\n") + "\n";
}

/** What a usage error prints on stderr: the message, then the usage of the command (or a pointer to --help). */
export function usageErrorText(message: string, c?: CommandSpec): string {
  if (!c) return `${PROGRAM}: ${message}\n\n${toolHelp()}`;
  return `${PROGRAM}: ${message}\n\n${commandHelp(c)}`;
}

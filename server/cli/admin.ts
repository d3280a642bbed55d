import { createAuth } from "../auth/index.js";
import { openDatabase, DataDirLockedError, type Database } from "../db.js";
import { ConfigError, env as loadEnv } from "../env.js";
import { AppError } from "../errors.js";
import { tokenScopeSchema } from "../../contracts/common.js";
import {
  addMember,
  createCollection,
  createProject,
  createUser,
  deleteCollection,
  findProject,
  findUserByEmail,
  setUserDisabled,
} from "../services/directory.js";
import type { AuthService } from "../context.js";

// `npm run admin -- <command> [--flag value]…`: one JSON object on stdout, or a message on stderr and a
// non-zero exit (2 for usage errors, 1 for everything else). Works with or without a running server:
// with the embedded database held by a server, it goes through that server's socket (server/db.ts).

class UsageError extends Error {}

type Flags = Record<string, string>;
interface Command {
  flags: string[];
  optional?: string[];
  run(flags: Flags, ctx: { db: Database; auth: () => Promise<AuthService> }): Promise<unknown>;
}

function positiveInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new UsageError(`--${flag} must be a positive whole number of seconds, not '${value}'`);
  return Number(value);
}

const commands: Record<string, Command> = {
  "user:create": { flags: ["email"], run: (f, { db }) => createUser(db.prisma, f.email!) },
  "user:disable": { flags: ["email"], run: (f, { db }) => setUserDisabled(db.prisma, f.email!, true) },
  "user:enable": { flags: ["email"], run: (f, { db }) => setUserDisabled(db.prisma, f.email!, false) },
  "project:create": { flags: ["name"], run: (f, { db }) => createProject(db.prisma, f.name!) },
  "project:add-member": {
    flags: ["project", "email", "role"],
    run: (f, { db }) => addMember(db.prisma, f.project!, f.email!, f.role!),
  },
  "collection:create": {
    flags: ["project", "name"],
    async run(f, { db }) {
      const project = await findProject(db.prisma, f.project!);
      const c = await createCollection(db.prisma, project.id, f.name!);
      return { id: c.id, name: c.name, project_id: c.projectId };
    },
  },
  "collection:delete": {
    flags: ["project", "name"],
    async run(f, { db }) {
      const project = await findProject(db.prisma, f.project!);
      return deleteCollection(db.prisma, project.id, f.name!);
    },
  },
  "token:create": {
    flags: ["email"],
    optional: ["scope", "expires-in", "label"],
    async run(f, { db, auth }) {
      const scope = f.scope === undefined ? "write" : tokenScopeSchema.safeParse(f.scope).data;
      if (!scope) throw new UsageError(`--scope must be read or write, not '${f.scope}'`);
      const expiresInSeconds = f["expires-in"] === undefined ? undefined : positiveInt(f["expires-in"], "expires-in");
      const user = await findUserByEmail(db.prisma, f.email!);
      const t = await (await auth()).createUserToken({ userId: user.id, scope, expiresInSeconds, label: f.label ?? "" });
      return { id: t.id, token: t.token };
    },
  },
  "token:revoke": {
    flags: ["id"],
    async run(f, { auth }) {
      if (!(await (await auth()).revokeUserToken(f.id!))) throw new AppError("NOT_FOUND", `No token with id '${f.id}'`);
      return { revoked: true };
    },
  },
  "run-token:create": {
    flags: ["project"],
    optional: ["run", "ttl"],
    async run(f, { db, auth }) {
      const project = await findProject(db.prisma, f.project!);
      const ttlSeconds = f.ttl === undefined ? undefined : positiveInt(f.ttl, "ttl");
      const t = await (await auth()).createRunToken({ projectId: project.id, runId: f.run, ttlSeconds });
      return { token: t.token, expires_at: t.expiresAt.toISOString() };
    },
  },
};

function usage(): string {
  return (
    "usage: npm run admin -- <command> [--flag value]…\ncommands:\n" +
    Object.entries(commands)
      .map(([name, c]) => `  ${name} ${c.flags.map((f) => `--${f} <${f}>`).join(" ")}${(c.optional ?? []).map((f) => ` [--${f} <${f}>]`).join("")}`)
      .join("\n")
  );
}

export function parseArgs(argv: string[]): { name: string; command: Command; flags: Flags } {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "help") throw new UsageError(usage());
  const command = commands[name];
  if (!command) throw new UsageError(`Unknown command '${name}'.\n${usage()}`);
  const allowed = new Set([...command.flags, ...(command.optional ?? [])]);
  const flags: Flags = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`Unexpected argument '${arg}'; flags look like --name value`);
    const flag = m[1]!;
    if (!allowed.has(flag)) throw new UsageError(`Unknown flag --${flag} for ${name}`);
    let value = m[2];
    if (value === undefined) {
      value = rest[++i];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`Flag --${flag} needs a value`);
    }
    flags[flag] = value;
  }
  const missing = command.flags.filter((f) => flags[f] === undefined);
  if (missing.length) throw new UsageError(`Missing ${missing.map((f) => `--${f}`).join(", ")} for ${name}`);
  return { name, command, flags };
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  let config;
  try {
    config = loadEnv();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
  let db: Database;
  try {
    db = await openDatabase(config, { migrate: true, viaServerIfHeld: true });
  } catch (e) {
    console.error(e instanceof DataDirLockedError ? e.message : `Cannot open the database: ${(e as Error).message}`);
    return 1;
  }
  let auth: AuthService | undefined;
  try {
    const result = await parsed.command.run(parsed.flags, {
      db,
      auth: async () => (auth ??= await createAuth(config, db)),
    });
    process.stdout.write(JSON.stringify(result) + "\n");
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.message);
      return 2;
    }
    console.error(e instanceof AppError ? e.message : `${parsed.name} failed: ${(e as Error).message}`);
    return 1;
  } finally {
    await db.close();
  }
}

process.exitCode = await main(process.argv.slice(2));

import { userInfo } from "node:os";
import { audit, type AuditActor } from "../audit.js";
import type { AuthService } from "../context.js";
import type { Database } from "../db.js";
import { env, type Env } from "../env.js";
import { createLogger, type Logger } from "../log.js";
import { PROGRAM } from "./help.js";

// What a command runs with: the configuration, the opened storage (named on stderr), token issuing on
// demand, and audit lines on stderr. The database drivers are imported here, once a command runs.

export interface Session {
  env: Env;
  db: Database;
  /** The token service (loads the signing key): only the commands that sign tokens ask for it. */
  auth(): Promise<AuthService>;
  /** One audit line on stderr for a change this command made (server/audit.ts). */
  audit(action: string, target: Record<string, unknown>): void;
  close(): Promise<void>;
}

/** The configuration from the environment; a ConfigError (server/env.ts) lists every problem. */
export const loadConfig = (): Env => env();

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? "unknown"}`; // no passwd entry (some containers)
  }
}

export async function openSession(config: Env, options: { create: boolean }): Promise<Session> {
  const { openDatabase } = await import("../db.js");
  // An operator's deletion of a large collection may take longer than a request is allowed to.
  const db = await openDatabase(
    { ...config, DB_STATEMENT_TIMEOUT_MS: 0 },
    { migrate: true, viaServerIfHeld: true, create: options.create },
  );
  process.stderr.write(`${PROGRAM}: storage ${db.location}\n`);
  if (db.migrationsApplied.length)
    process.stderr.write(`${PROGRAM}: applied migrations ${db.migrationsApplied.join(", ")}\n`);

  const log: Logger = createLogger(config.LOG_LEVEL, (line) => process.stderr.write(line));
  const actor: AuditActor = { kind: "cli", os_user: osUser() };
  let auth: Promise<AuthService> | undefined;
  return {
    env: config,
    db,
    auth: () => (auth ??= import("../auth/index.js").then(({ createAuth }) => createAuth(config, db))),
    audit: (action, target) => audit(log, { action, actor, target }),
    close: () => db.close(),
  };
}

import { ConfigError } from "../env.js";
import { AppError } from "../errors.js";
import type { Flags } from "./args.js";
import type { CommandSpec } from "./commands.js";
import { loadHandler } from "./handlers.js";
import { PROGRAM, usageErrorText } from "./help.js";
import { loadConfig, openSession, type Session } from "./session.js";

// Running one well-formed command: values checked, storage opened, the handler run, the answer printed,
// every failure turned into a message on stderr and an exit code.

interface ExitCodes {
  usage: number;
  failed: number;
}

const fail = (message: string) => process.stderr.write(`${PROGRAM}: ${message}\n`);

/** A value the services refuse (400) is the operator's mistake: a usage error with the command's usage. */
const isBadValue = (e: unknown): e is AppError => e instanceof AppError && e.code === "BAD_REQUEST";

export async function runCommand(command: CommandSpec, flags: Flags, codes: ExitCodes): Promise<number> {
  const handler = await loadHandler(command.group, command.name);
  let config;
  try {
    handler.check?.(flags);
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      fail(e.message);
      return codes.usage;
    }
    if (!isBadValue(e)) throw e;
    process.stderr.write(usageErrorText(`${e.message}.`, command));
    return codes.usage;
  }

  let session: Session;
  try {
    session = await openSession(config, { create: command.createsDatabase === true });
  } catch (e) {
    fail(await openFailure(e, command));
    return codes.failed;
  }
  try {
    const result = await handler.run(flags, session);
    (handler.summaryOnStderr?.(flags) ? process.stderr : process.stdout).write(JSON.stringify(result) + "\n");
    return 0;
  } catch (e) {
    if (isBadValue(e)) {
      process.stderr.write(usageErrorText(`${e.message}.`, command));
      return codes.usage;
    }
    fail(e instanceof AppError ? e.message : `${command.name} failed: ${(e as Error).message}`);
    return codes.failed;
  } finally {
    await session.close();
  }
}

async function openFailure(e: unknown, command: CommandSpec): Promise<string> {
  const { DataDirLockedError, NoDatabaseError } = await import("../db.js");
  if (e instanceof NoDatabaseError) {
    return `${e.message}. ${command.name} works on an existing database only: check DATA_DIR / DATABASE_URL, or set one up with user:create or project:create (or by starting the server).`;
  }
  if (e instanceof DataDirLockedError) return e.message;
  return `Cannot open the database: ${(e as Error).message}`;
}

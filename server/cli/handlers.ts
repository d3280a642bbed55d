import type { Flags } from "./args.js";
import type { Group } from "./commands.js";
import type { Session } from "./session.js";

// A command's code: `check` runs before any storage is opened (a bad value is a usage error, exit 2,
// and never leaves a database behind); `run` returns the JSON document for stdout. Each group's module
// is imported only when one of its commands runs.

export interface Handler {
  check?(flags: Flags): void;
  run(flags: Flags, session: Session): Promise<unknown>;
  /** The JSON document goes to stderr instead (stdout carries the command's data: an export without --out). */
  summaryOnStderr?(flags: Flags): boolean;
}

export type Handlers = Record<string, Handler>;

const loaders: Record<Group, () => Promise<{ handlers: Handlers }>> = {
  users: () => import("./users.js"),
  projects: () => import("./projects.js"),
  collections: () => import("./collections.js"),
  tokens: () => import("./tokens.js"),
};

export async function loadHandler(group: Group, name: string): Promise<Handler> {
  const handler = (await loaders[group]()).handlers[name];
  if (!handler) throw new Error(`${name} has no handler in server/cli/${group}.ts`);
  return handler;
}

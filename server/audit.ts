import type { Logger } from "./log.js";

// Audit lines (SPEC §8.1): one log line per administrative change (tokens, members, projects, users,
// collections created, changed (collection.update: the default TTL) or deleted), by the API or the admin CLI, naming who did what to what. Never a
// token, never a value.

export interface AuditActor {
  /** "user" (a user token), "run" (a run token), "cli" (the admin CLI on this machine). */
  kind: "user" | "run" | "cli";
  user_id?: string;
  run_id?: string;
  token_id?: string;
  /** kind "cli": the operating-system user who ran the command. */
  os_user?: string;
}

export interface AuditEntry {
  /** e.g. "token.create", "token.revoke", "collection.create", "collection.update", "collection.delete", "member.add". */
  action: string;
  actor: AuditActor;
  /** What was acted on: ids and names, e.g. { project_id, collection: "orders" } or { token_id }. */
  target: Record<string, unknown>;
  request_id?: string;
}

export function audit(log: Logger, entry: AuditEntry): void {
  log.info("audit", { audit: true, ...entry });
}

import { audit, type AuditActor } from "../audit.js";
import type { Principal } from "../auth/principal.js";
import type { Context } from "../context.js";

// Audit lines of the API (SPEC §8.1): the caller of the request, what it did to what, the request's id.

export function actorOf(p: Principal): AuditActor {
  return p.kind === "user"
    ? { kind: "user", user_id: p.userId, token_id: p.tokenId }
    : { kind: "run", run_id: p.runId };
}

/** One audit line for a change a procedure made (after it succeeded), on whichever surface it was called. */
export function auditCall(
  ctx: Context & { principal: Principal },
  action: string,
  target: Record<string, unknown>,
): void {
  audit(ctx.log, { action, actor: actorOf(ctx.principal), target, request_id: ctx.requestId });
}

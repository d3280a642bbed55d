import type { ServerResponse } from "node:http";
import type { Principal } from "../auth/principal.js";
import type { Services } from "../context.js";
import { AppError } from "../errors.js";

// MAX_STREAMS_PER_TOKEN: streamed answers one token may have open at once (SPEC §6).

const openStreams = new WeakMap<Services, Map<string, number>>();

const tokenOf = (p: Principal) => (p.kind === "user" ? `token:${p.tokenId}` : `run:${p.runId}`);

/**
 * Takes a stream slot of the principal's token, or throws 429 (never when MAX_STREAMS_PER_TOKEN is 0;
 * the slot still counts, for /metrics); the returned function gives it back (once).
 */
export function acquireStreamSlot(services: Services, principal: Principal): () => void {
  const max = services.env.MAX_STREAMS_PER_TOKEN;
  let counts = openStreams.get(services);
  if (!counts) openStreams.set(services, (counts = new Map()));
  const key = tokenOf(principal);
  const open = counts.get(key) ?? 0;
  if (max > 0 && open >= max) {
    throw new AppError(
      "TOO_MANY_REQUESTS",
      `This token already has ${open} streamed requests open; at most ${max} are allowed at once (MAX_STREAMS_PER_TOKEN)`,
    );
  }
  counts.set(key, open + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (counts.get(key) ?? 1) - 1;
    if (left > 0) counts.set(key, left);
    else counts.delete(key);
  };
}

/** acquireStreamSlot for an HTTP response: the slot is given back when the response closes. */
export function holdStreamSlot(services: Services, principal: Principal, res: ServerResponse): void {
  const release = acquireStreamSlot(services, principal);
  res.once("close", release);
}

/** Streams open now, all tokens together (/metrics, tests). */
export function openStreamCount(services: Services): number {
  let n = 0;
  for (const v of openStreams.get(services)?.values() ?? []) n += v;
  return n;
}

import type { Env } from "../env.js";
import { badRequest } from "../errors.js";
import type { ItemFilter, ItemRow } from "./items.js";
import { patternProblem } from "./patterns.js";
import { microsToIso, parsePreciseInstant, type TimeRange } from "./time-filters.js";

// The Lightning dialect's wire rules (SPEC §5) over the shared item store.

/**
 * Interop. Write side: a string received is stored as a JSON string value (its valueJson is
 * JSON.stringify(string), server/http/lightning-write.ts). Read side: a stored JSON string goes out as that string (its stored JSON text is already the
 * JSON of the wire string); any other stored JSON value goes out as its JSON text, as a string.
 */
export function wireValueJson(storedJson: string): string {
  return storedJson.startsWith('"') ? storedJson : JSON.stringify(storedJson);
}

/** The wire value of a stored item, as a JS string. */
export function wireValue(storedJson: string): string {
  return storedJson.startsWith('"') ? (JSON.parse(storedJson) as string) : storedJson;
}

/** One item of a Lightning list, as JSON text. */
export function lightningItemJson(row: ItemRow): string {
  return `{"key":${JSON.stringify(row.key)},"value":${wireValueJson(row.value)},"created":"${row.created}","updated":"${row.updated}"}`;
}

// Cursor: base64url of the last sequence number returned, like Lightning's base64 of the last id. Short,
// and made only of [A-Za-z0-9_-], so it never needs a JSON escape.
export const encodeLightningCursor = (seq: string): string => Buffer.from(seq, "utf8").toString("base64url");

/** The sequence number in a cursor (base64url, or Lightning's padded base64); a 400 when it is not one. */
export function decodeLightningCursor(cursor: string): string {
  const seq = Buffer.from(cursor, "base64url").toString("utf8");
  if (!/^\d{1,19}$/.test(seq)) throw badRequest(`Invalid parameter "cursor": not a cursor returned by this service`);
  return seq;
}

export interface LightningTimeParams {
  created_after?: string;
  created_before?: string;
  updated_after?: string;
  updated_before?: string;
}

/** Lightning's bounds: `*_after` is `>=` the instant, `*_before` is `<` it (to the nanosecond, rounded up to microseconds). */
function range(params: LightningTimeParams, field: "created" | "updated"): TimeRange | undefined {
  const after = params[`${field}_after`];
  const before = params[`${field}_before`];
  const at = (text: string) => microsToIso(parsePreciseInstant(text).startUs);
  const out: TimeRange = {};
  if (after !== undefined) out.after = { at: at(after), inclusive: true };
  if (before !== undefined) out.before = { at: at(before), inclusive: false };
  return out.after || out.before ? out : undefined;
}

/** The filter of a Lightning list or delete: optional key pattern plus the four time filters (already validated). */
export function lightningFilter(env: Env, pattern: string | undefined, params: LightningTimeParams): ItemFilter {
  if (pattern !== undefined) {
    const problem = patternProblem(pattern, env.MAX_PATTERN_LENGTH);
    if (problem) throw badRequest(`Invalid parameter "key": ${problem}`);
  }
  return { pattern, created: range(params, "created"), updated: range(params, "updated") };
}

import { createHash } from "node:crypto";

// Continuation tokens of both dialects (SPEC §3.1, §5). A cursor names a keyset position, the last
// sequence number returned; one that cannot have been issued (garbage, a number beyond bigint) is refused
// with a message, never passed to the database.

export interface CursorPosition {
  afterSeq: string;
  offset: number;
}

const MAX_SEQ = 9_223_372_036_854_775_807n;
const NOT_OURS = "is not a cursor returned by this service";

/** A sequence number as a cursor holds it: decimal digits within PostgreSQL's bigint. */
const isSeq = (text: string | undefined): text is string =>
  text !== undefined && /^\d{1,19}$/.test(text) && BigInt(text) <= MAX_SEQ;

/** A short digest of what a cursor must be replayed with (collection and filters, not limit). */
export function queryFingerprint(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 11);
}

/** The REST cursor: position, offset reached (for end_offset) and the fingerprint of its query. */
export function encodeCursor(pos: CursorPosition, fingerprint: string): string {
  return Buffer.from(`1.${pos.afterSeq}.${pos.offset}.${fingerprint}`, "utf8").toString("base64url");
}

/** Throws a message when the cursor is malformed or was issued for a different query. */
export function decodeCursor(cursor: string, fingerprint: string): CursorPosition {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw new Error(NOT_OURS);
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split(".");
  if (parts.length !== 4 || parts[0] !== "1" || !isSeq(parts[1]) || !/^\d{1,15}$/.test(parts[2]!))
    throw new Error(NOT_OURS);
  if (parts[3] !== fingerprint)
    throw new Error("belongs to a different query (collection, key pattern or time filters changed)");
  return { afterSeq: parts[1]!, offset: Number(parts[2]) };
}

// Lightning's cursor: base64url of the last sequence number returned, like Lightning's base64 of the
// last id. Short, and made only of [A-Za-z0-9_-], so it never needs a JSON escape.
export const encodeLightningCursor = (seq: string): string => Buffer.from(seq, "utf8").toString("base64url");

/** The sequence number in a Lightning cursor (base64url, or Lightning's padded base64); throws a message otherwise. */
export function decodeLightningCursor(cursor: string): string {
  const seq = Buffer.from(cursor, "base64url").toString("utf8");
  if (!isSeq(seq)) throw new Error(NOT_OURS);
  return seq;
}

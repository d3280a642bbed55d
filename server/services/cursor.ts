import { createHash } from "node:crypto";

// Opaque continuation tokens (SPEC §3.1): the keyset position (last sequence number returned), the
// offset reached so far (for end_offset), and a fingerprint of the query the cursor belongs to.

export interface CursorPosition {
  afterSeq: string;
  offset: number;
}

/** A short digest of what a cursor must be replayed with (collection and filters, not limit). */
export function queryFingerprint(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 11);
}

export function encodeCursor(pos: CursorPosition, fingerprint: string): string {
  return Buffer.from(`1.${pos.afterSeq}.${pos.offset}.${fingerprint}`, "utf8").toString("base64url");
}

/** Throws a message when the cursor is malformed or was issued for a different query. */
export function decodeCursor(cursor: string, fingerprint: string): CursorPosition {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw new Error("is not a cursor returned by this service");
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split(".");
  if (parts.length !== 4 || parts[0] !== "1" || !/^\d{1,19}$/.test(parts[1]!) || !/^\d{1,15}$/.test(parts[2]!)) {
    throw new Error("is not a cursor returned by this service");
  }
  if (parts[3] !== fingerprint) throw new Error("belongs to a different query (collection, key pattern or time filters changed)");
  return { afterSeq: parts[1]!, offset: Number(parts[2]) };
}

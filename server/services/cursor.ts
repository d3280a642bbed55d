import { createHash } from "node:crypto";

// Continuation tokens of both dialects (SPEC §3.1, §5). A cursor names a keyset position in insertion
// order, (ins_xid, seq) of the last item returned, and the rows still owed below it: those of
// transactions that were running when the page was read and may commit later (server/services/items.ts).
// One that cannot have been issued (garbage, a number beyond bigint, too many owed transactions) is
// refused with a message, never passed to the database.

/** A keyset position in insertion order: the inserting transaction's id, then the sequence number. */
export interface ItemPosition {
  xid: string;
  seq: string;
}

/** Rows owed to a reader: those inserted by transaction `xid` with a sequence number above `after`. */
export interface PendingRows {
  xid: string;
  after: string;
}

/** Where a read goes on: after `position`, plus the `pending` rows below it. */
export interface Keyset {
  position: ItemPosition;
  pending: PendingRows[];
}

export interface CursorPosition {
  keyset: Keyset;
  offset: number;
}

const MAX_BIGINT = 9_223_372_036_854_775_807n;
/** Owed transactions a cursor may carry: PostgreSQL runs at most max_connections (+ prepared) at once. */
export const MAX_PENDING = 1000;
const NOT_OURS = "is not a cursor returned by this service";

/** A number as a cursor holds it: decimal digits within PostgreSQL's bigint. */
const isBigint = (text: string | undefined): text is string =>
  text !== undefined && /^\d{1,19}$/.test(text) && BigInt(text) <= MAX_BIGINT;

/** `x.s` then, when rows are owed, `.x1-a1,x2-a2…` */
function keysetText(k: Keyset): string {
  const head = `${k.position.xid}.${k.position.seq}`;
  return k.pending.length === 0 ? head : `${head}.${k.pending.map((p) => `${p.xid}-${p.after}`).join(",")}`;
}

function parseKeyset(xid: string | undefined, seq: string | undefined, pending: string | undefined): Keyset {
  if (!isBigint(xid) || !isBigint(seq)) throw new Error(NOT_OURS);
  const owed: PendingRows[] = [];
  if (pending !== undefined) {
    const entries = pending.split(",");
    if (entries.length > MAX_PENDING) throw new Error(NOT_OURS);
    for (const entry of entries) {
      const [x, after, extra] = entry.split("-");
      if (extra !== undefined || !isBigint(x) || !isBigint(after)) throw new Error(NOT_OURS);
      owed.push({ xid: x, after });
    }
  }
  return { position: { xid, seq }, pending: owed };
}

/** A short digest of what a cursor must be replayed with (collection and filters, not limit). */
export function queryFingerprint(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 11);
}

const MAX_CURSOR = 40_000;

/** The REST cursor: keyset, offset reached (for end_offset) and the fingerprint of its query. */
export function encodeCursor(pos: CursorPosition, fingerprint: string): string {
  const k = pos.keyset;
  const pending = k.pending.map((p) => `${p.xid}-${p.after}`).join(",");
  return Buffer.from(
    `2.${k.position.xid}.${k.position.seq}.${pos.offset}.${fingerprint}.${pending}`,
    "utf8",
  ).toString("base64url");
}

/** Throws a message when the cursor is malformed or was issued for a different query. */
export function decodeCursor(cursor: string, fingerprint: string): CursorPosition {
  if (cursor.length > MAX_CURSOR || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error(NOT_OURS);
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split(".");
  // Version 1 (before issue 13) held a sequence number only: the items it can point at all have ins_xid 0.
  const [xid, seq, offset, fp, pending] =
    parts[0] === "1" && parts.length === 4
      ? ["0", parts[1], parts[2], parts[3], ""]
      : parts[0] === "2" && parts.length === 6
        ? parts.slice(1)
        : [];
  if (offset === undefined || !/^\d{1,15}$/.test(offset)) throw new Error(NOT_OURS);
  const keyset = parseKeyset(xid, seq, pending ? pending : undefined);
  if (fp !== fingerprint)
    throw new Error("belongs to a different query (collection, key pattern or time filters changed)");
  return { keyset, offset: Number(offset) };
}

// Lightning's cursor: base64url of the keyset text (`xid.seq[.owed]`), like Lightning's base64 of the last
// id. Made only of [A-Za-z0-9_-], so it never needs a JSON escape.
export const encodeLightningCursor = (k: Keyset): string =>
  Buffer.from(keysetText(k), "utf8").toString("base64url");

/** The keyset in a Lightning cursor (base64url, or Lightning's padded base64); throws a message otherwise. */
export function decodeLightningCursor(cursor: string): Keyset {
  if (cursor.length > MAX_CURSOR) throw new Error(NOT_OURS);
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split(".");
  // A bare sequence number: a cursor issued before issue 13 (its items all have ins_xid 0).
  if (parts.length === 1) return parseKeyset("0", parts[0], undefined);
  if (parts.length !== 2 && parts.length !== 3) throw new Error(NOT_OURS);
  return parseKeyset(parts[0], parts[1], parts[2]);
}

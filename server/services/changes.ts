import { Prisma } from "../generated/prisma/client.js";
import type { Sql } from "../db.js";
import { queryFingerprint } from "./cursor.js";
import { shieldedText } from "./items.js";
import { keyMatch } from "./patterns.js";

// The change log of a collection (item_changes, SPEC §9.3) as a feed: read in position order (xid,
// version), and only below the horizon, the oldest transaction still running
// (pg_snapshot_xmin(pg_current_snapshot())). Below it no position can appear any more (prisma/schema.prisma,
// ItemChange): a writer that commits late holds the feed back until it commits, and is never skipped.

/** A position in the feed: every change at or before it has been read (decimal strings). */
export interface FeedPosition {
  xid: string;
  version: string;
}

/** Before every change (`since=0`): the feed starts at what retention still holds. */
export const FEED_ORIGIN: FeedPosition = { xid: "0", version: "0" };

export type ChangeKind = "put" | "delete" | "expire";

/** One change as logged: value is the stored JSON text (put), `at` ISO UTC with microseconds. */
export interface ChangeRow {
  key: string;
  kind: ChangeKind;
  /** The value's JSON text as written (put); null for delete and expire. */
  value: string | null;
  xid: string;
  version: string;
  /** put: the item's `updated`; delete: when it was deleted; expire: when the sweep removed it. */
  at: string;
}

export interface ChangeBatch {
  changes: ChangeRow[];
  /**
   * Where the next read starts: the last change's position when the batch was cut (rows or bytes), past the
   * rows looked at that the key pattern did not match, and at the horizon (horizon, 0) when everything
   * below it has been read.
   */
  position: FeedPosition;
  /** The batch was cut: more changes can be read at once. */
  more: boolean;
  /** The position read from is below the collection's retention floor: changes after it may be pruned. */
  expired: boolean;
  /** The collection does not exist (any more). */
  gone: boolean;
}

export interface ChangeReadOptions {
  /** Log rows looked at per read (the batch holds at most this many changes). */
  rows: number;
  /** Value bytes per batch (at least one change): 1 MB values are read in the memory of small ones. */
  bytes: number;
}

const MAX_BIGINT = 9_223_372_036_854_775_807n;
const isBigint = (text: string | undefined): text is string =>
  text !== undefined && /^\d{1,19}$/.test(text) && BigInt(text) <= MAX_BIGINT;

const comparePositions = (a: FeedPosition, b: FeedPosition): number => {
  const x = BigInt(a.xid) - BigInt(b.xid);
  const d = x !== 0n ? x : BigInt(a.version) - BigInt(b.version);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
};
const later = (a: FeedPosition, b: FeedPosition) => (comparePositions(a, b) >= 0 ? a : b);

/** What a feed cursor is bound to: the collection and the key pattern (an absent pattern and `*` alike). */
export const feedFingerprint = (collectionId: string, pattern: string | undefined) =>
  queryFingerprint(["changes", collectionId, keyMatch(pattern)]);

/** A feed cursor: opaque, made of [A-Za-z0-9_-] (an SSE id and a URL parameter without escapes). */
export function encodeFeedCursor(position: FeedPosition, fingerprint: string): string {
  return Buffer.from(`f1.${position.xid}.${position.version}.${fingerprint}`, "utf8").toString("base64url");
}

/**
 * The position of a feed cursor; `0` is the origin (everything retention holds). Throws a message when the
 * text is not a cursor of this service, or was issued for another collection or key pattern.
 */
export function decodeFeedCursor(cursor: string, fingerprint: string): FeedPosition {
  if (cursor === "0") return FEED_ORIGIN;
  const notOurs = "is not a change feed cursor returned by this service (nor 0)";
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw new Error(notOurs);
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split(".");
  if (parts.length !== 4 || parts[0] !== "f1" || !isBigint(parts[1]) || !isBigint(parts[2]))
    throw new Error(notOurs);
  if (parts[3] !== fingerprint)
    throw new Error("belongs to another feed (a different collection or key pattern)");
  return { xid: parts[1], version: parts[2] };
}

/** "Now": the horizon as a position. Every change below it committed before this read. */
export async function readHorizon(sql: Sql): Promise<FeedPosition> {
  const [row] = await sql.query<{ horizon: string }>(
    Prisma.sql`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon`,
  );
  return { xid: row!.horizon, version: "0" };
}

function keyCondition(pattern: string | undefined): Prisma.Sql {
  const match = keyMatch(pattern);
  if (match.kind === "exact") return Prisma.sql`WHERE win.key = ${match.key}`;
  if (match.kind === "like") return Prisma.sql`WHERE win.key LIKE ${match.like} ESCAPE '\\'`;
  return Prisma.empty;
}

/**
 * The changes after `after` below the horizon, in position order, in one statement (one snapshot): at most
 * `rows` log rows are looked at (a key pattern that matches few keys still moves the position on), of
 * which the matching ones are returned up to `bytes` of values (at least one). The collection's retention
 * floor is read along: nothing at or below it is returned, and `expired` says whether `after` is below it.
 */
export async function readChanges(
  sql: Sql,
  collectionId: string,
  pattern: string | undefined,
  after: FeedPosition,
  options: ChangeReadOptions,
): Promise<ChangeBatch> {
  type Row = Partial<ChangeRow> & {
    horizon: string | null;
    floor_xid: string | null;
    floor_version: string | null;
    scanned: number;
    last_xid: string | null;
    last_version: string | null;
    hits: number;
  };
  // Run every CHANGES_POLL_MS by every open feed: prepared (a pattern filters the window, never an index).
  const rows = await sql.query<Row>(
    Prisma.sql`
    WITH h AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon),
         f AS MATERIALIZED (
           SELECT changes_floor_xid AS fx, changes_floor_version AS fv,
                  (changes_floor_xid, changes_floor_version) > (${after.xid}::bigint, ${after.version}::bigint) AS above
           FROM collections WHERE id = ${collectionId}::uuid),
         s AS MATERIALIZED (
           SELECT CASE WHEN above THEN fx ELSE ${after.xid}::bigint END AS sx,
                  CASE WHEN above THEN fv ELSE ${after.version}::bigint END AS sv FROM f),
         win AS MATERIALIZED (
           SELECT c.xid, c.version, c.key, coalesce(octet_length(c.value), 0)::bigint AS len
           FROM item_changes c
           WHERE c.collection_id = ${collectionId}::uuid
             AND (c.xid, c.version) > ((SELECT sx FROM s), (SELECT sv FROM s))
             AND c.xid < (SELECT horizon FROM h)
           ORDER BY c.xid, c.version
           LIMIT ${options.rows}),
         hit AS MATERIALIZED (
           SELECT win.xid, win.version, win.len,
                  sum(win.len) OVER (ORDER BY win.xid, win.version ROWS UNBOUNDED PRECEDING) AS run
           FROM win ${keyCondition(pattern)}),
         picked AS MATERIALIZED (SELECT xid, version FROM hit WHERE run - len < ${options.bytes}::bigint),
         last AS MATERIALIZED (SELECT xid, version FROM win ORDER BY xid DESC, version DESC LIMIT 1)
    SELECT (SELECT horizon::text FROM h) AS horizon,
           (SELECT fx::text FROM f) AS floor_xid, (SELECT fv::text FROM f) AS floor_version,
           (SELECT above FROM f) AS expired,
           (SELECT count(*) FROM win)::int AS scanned, (SELECT count(*) FROM hit)::int AS hits,
           (SELECT xid::text FROM last) AS last_xid, (SELECT version::text FROM last) AS last_version,
           ${Prisma.raw(shieldedText("c.key"))} AS key, c.kind::text AS kind, c.value, c.xid::text AS xid,
           c.version::text AS version,
           to_char(c.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
    FROM (SELECT 1) AS one
    LEFT JOIN (picked JOIN item_changes c
               ON c.collection_id = ${collectionId}::uuid AND c.xid = picked.xid AND c.version = picked.version)
      ON true
    ORDER BY c.xid, c.version`,
    { prepare: true },
  );
  const head = rows[0]!;
  const changes = (head.key === undefined || head.key === null ? [] : rows) as unknown as ChangeRow[];
  const gone = head.floor_xid === null;
  const expired = Boolean((head as { expired?: boolean | null }).expired);
  const start = gone ? after : later(after, { xid: head.floor_xid!, version: head.floor_version! });
  let position: FeedPosition;
  let more: boolean;
  if (changes.length < head.hits) {
    // Cut by bytes: the next read starts after the last change sent.
    const last = changes[changes.length - 1]!;
    position = { xid: last.xid, version: last.version };
    more = true;
  } else if (head.scanned >= options.rows) {
    position = { xid: head.last_xid!, version: head.last_version! };
    more = true;
  } else {
    // Everything below the horizon has been read.
    const scannedTo = head.last_xid === null ? start : { xid: head.last_xid, version: head.last_version! };
    position = gone ? scannedTo : later(scannedTo, { xid: head.horizon!, version: "0" });
    more = false;
  }
  return { changes, position, more, expired, gone };
}

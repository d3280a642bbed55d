import { Prisma } from "../generated/prisma/client.js";
import type { Sql } from "../db.js";
import { keyMatch } from "./patterns.js";
import { withoutTopLevelMember } from "./json-text.js";
import type { TimeRange } from "./time-filters.js";

// The item store (SPEC §1, §3): set-based SQL only, JSON values kept as the text that was written.
// Shared by the REST routes, the tRPC procedures and the Lightning dialect (SPEC §5).

/** Which items an operation applies to. */
export interface ItemFilter {
  /** A key pattern (SPEC §3.5); undefined matches every key. */
  pattern?: string;
  created?: TimeRange;
  updated?: TimeRange;
}

/** An item as read from the database: value is the stored JSON text, timestamps ISO UTC with microseconds. */
export interface ItemRow {
  key: string;
  value: string;
  created: string;
  updated: string;
  /** The insertion sequence number, as a decimal string. */
  seq: string;
  /** SPEC §9.1: grows on every write of the key, never repeats (decimal string). */
  version: string;
  /** SPEC §9.2: when the item stops existing (ISO UTC), or null. */
  expires: string | null;
}

/**
 * A text column that may begin with U+FEFF (a key), as SQL: such a text gets a U+0001 in front, which
 * server/sql.ts removes from every result. PGlite decodes each text field with a TextDecoder that drops a
 * leading byte-order mark, so `\uFEFFbom` would otherwise come back as `bom`; U+0001 cannot start a key
 * (no control characters), so the mark is unambiguous on both storages.
 */
export const shieldedText = (column: string) =>
  `CASE WHEN starts_with(${column}, U&'\\FEFF') THEN U&'\\0001' || ${column} ELSE ${column} END`;

const isoUtc = (column: string) =>
  Prisma.raw(`to_char("${column}" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

/** The columns of an ItemRow read from the items row `alias`, named `<prefix>key` and so on. */
export function itemRowColumns(alias: string, prefix = ""): Prisma.Sql {
  const col = (c: string) => `${alias}."${c}"`;
  const iso = (c: string) => `to_char(${col(c)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  return Prisma.raw(
    `${shieldedText(col("key"))} AS ${prefix}key, ${col("value")} AS ${prefix}value, ${iso("created")} AS ${prefix}created, ` +
      `${iso("updated")} AS ${prefix}updated, ${col("seq")}::text AS ${prefix}seq, ${col("version")}::text AS ${prefix}version, ` +
      `${iso("expires")} AS ${prefix}expires`,
  );
}

/**
 * The item row `alias` has not expired (SPEC §9.2): expired rows are invisible to every read, count and
 * delete from the instant they expire, whether or not the sweep has removed them yet.
 */
export const liveSql = (alias?: string) => {
  const col = alias ? `${alias}.expires` : "expires";
  return Prisma.raw(`(${col} IS NULL OR ${col} > clock_timestamp())`);
};

function rangeSql(column: "created" | "updated", range: TimeRange | undefined): Prisma.Sql[] {
  const col = Prisma.raw(`"${column}"`);
  const out: Prisma.Sql[] = [];
  if (range?.after) {
    out.push(
      range.after.inclusive
        ? Prisma.sql`${col} >= ${range.after.at}::timestamptz`
        : Prisma.sql`${col} > ${range.after.at}::timestamptz`,
    );
  }
  if (range?.before) {
    out.push(
      range.before.inclusive
        ? Prisma.sql`${col} <= ${range.before.at}::timestamptz`
        : Prisma.sql`${col} < ${range.before.at}::timestamptz`,
    );
  }
  return out;
}

/**
 * The collection id as the planner should see it in a lookup by key: an uncorrelated sub-select is
 * planned for an average collection. With the id itself, a collection newer than the table's statistics
 * looks empty, and the planner may then find a key by scanning the collection in sequence order
 * (items_collection_id_seq_key with a filter on key): seconds per statement on a big new collection.
 */
const collectionOf = (collectionId: string) => Prisma.sql`(SELECT ${collectionId}::uuid)`;

/** The WHERE conditions of a filter on the live (not expired) items of one collection, on the table `items` unaliased. */
export function filterSql(collectionId: string, filter: ItemFilter): Prisma.Sql {
  const parts: Prisma.Sql[] = [Prisma.sql`collection_id = ${collectionOf(collectionId)}`, liveSql()];
  const match = keyMatch(filter.pattern);
  if (match.kind === "exact") parts.push(Prisma.sql`key = ${match.key}`);
  if (match.kind === "like") parts.push(Prisma.sql`key LIKE ${match.like} ESCAPE '\\'`);
  parts.push(...rangeSql("created", filter.created), ...rangeSql("updated", filter.updated));
  return Prisma.join(parts, " AND ");
}

/** STREAM_BATCH_BYTES' default (server/env.ts). */
const DEFAULT_BATCH_BYTES = 2 * 1024 * 1024;

export interface StreamOptions {
  /** Keyset position: only items with a greater sequence number (from a cursor). */
  afterSeq?: string;
  /** Skip this many matching items first. */
  offset?: number;
  /** At most this many items in all. */
  limit?: number;
  /** At most this many value bytes in all (at least one item): the stream then ends with hasMore when more match. */
  maxBytes?: number;
  /** Items per database query; each query takes and releases a connection, no transaction spans batches. */
  batchSize: number;
  /** Value bytes per database query (at least one item), so that large values stream in the memory of small ones. */
  batchBytes?: number;
  /** Stops before the next query once aborted (the client went away). */
  signal?: AbortSignal;
  /** Keys only (SPEC §9.5): rows come with value "" and the values are not read. */
  keysOnly?: boolean;
}

export interface StreamEnd {
  /** Items yielded. */
  count: number;
  /** Sequence number of the last item yielded (the keyset position for a cursor), or null. */
  lastSeq: string | null;
  /** True when `limit` (or `maxBytes`) stopped the stream and more items match. */
  hasMore: boolean;
  /** True when the signal stopped the stream. */
  aborted: boolean;
}

/**
 * Matching items in insertion order, as batches of at most batchSize rows and about batchBytes of values,
 * read with a keyset on the sequence number. Returns (as the generator's return value) where it stopped
 * and whether more match.
 *
 * One stream covers the items that existed when its first batch was read, less those deleted since,
 * with their values as they are when their batch is read: without that bound, a key deleted and
 * written again mid-stream would come twice in one response (it gets a new sequence number). Upserts
 * serialize per collection (upsertItems), so no lower sequence number commits after the bound. A
 * cursor only carries the position, so the next page also sees what was written in between.
 */
export async function* streamItems(
  sql: Sql,
  collectionId: string,
  filter: ItemFilter,
  options: StreamOptions,
): AsyncGenerator<ItemRow[], StreamEnd, void> {
  const where = filterSql(collectionId, filter);
  // A read by exact key (a point read) is the frequent small statement worth keeping prepared.
  const prepare = keyMatch(filter.pattern).kind === "exact";
  const { limit, signal } = options;
  const maxBytes = options.maxBytes ?? Infinity;
  // The first batch reads the bound in the same statement; the later ones reuse it.
  let bound: Prisma.Sql = Prisma.sql`(SELECT max(seq) FROM items WHERE collection_id = ${collectionId}::uuid)`;
  let boundKnown = false;
  let after = options.afterSeq ?? "0";
  let skip = options.offset ?? 0;
  let count = 0;
  let bytes = 0;
  let lastSeq: string | null = null;
  for (;;) {
    if (signal?.aborted) return { count, lastSeq, hasMore: false, aborted: true };
    // Once the limit or the byte budget is reached, one more row (a probe) tells whether more items match.
    const remaining = bytes >= maxBytes ? 0 : limit === undefined ? Infinity : limit - count;
    const take = Math.min(options.batchSize, remaining + 1);
    const budget =
      remaining === 0 ? 1 : Math.min(options.batchBytes ?? DEFAULT_BATCH_BYTES, maxBytes - bytes);
    // `run` is the value bytes up to and including the row: a row is sent while the bytes before it are
    // under the budget, so the first row always is. octet_length reads a stored value's size without
    // decompressing it, and rows past the budget are never sent.
    // Every column costs the driver a parse per row: `bound` comes with the first batch only.
    const rows = await sql.query<ItemRow & { bound?: string; run: string }>(
      Prisma.sql`
      SELECT key, value, created, updated, seq, version, expires, run::text AS run${boundKnown ? Prisma.empty : Prisma.sql`, ${bound}::text AS bound`} FROM (
        SELECT page.*, sum(page.len) OVER (ORDER BY page.n ROWS UNBOUNDED PRECEDING) AS run
        FROM (
          SELECT ${Prisma.raw(shieldedText("key"))} AS key, ${options.keysOnly ? Prisma.sql`''` : Prisma.sql`value`} AS value,
            ${isoUtc("created")} AS created, ${isoUtc("updated")} AS updated, seq AS n, seq::text AS seq,
            version::text AS version, ${isoUtc("expires")} AS expires,
            ${options.keysOnly ? Prisma.sql`octet_length(key)` : Prisma.sql`octet_length(value)`} AS len
          FROM items
          WHERE ${where} AND seq > ${after}::bigint AND seq <= ${bound}
          ORDER BY items.seq
          LIMIT ${take} OFFSET ${skip}) AS page) AS counted
      WHERE counted.run - counted.len < ${budget}::bigint
      ORDER BY counted.n`,
      { prepare },
    );
    skip = 0;
    if (!boundKnown && rows.length > 0) {
      bound = Prisma.sql`${rows[0]!.bound}::bigint`;
      boundKnown = true;
    }
    const cut = rows.length > 0 && Number(rows[rows.length - 1]!.run) >= budget;
    const hasMore = rows.length > remaining;
    // The rows are ItemRows (their extra columns ride along unread).
    const batch: ItemRow[] = hasMore ? rows.slice(0, remaining) : rows;
    if (batch.length > 0) {
      count += batch.length;
      bytes += Number(rows[batch.length - 1]!.run);
      lastSeq = after = batch[batch.length - 1]!.seq;
      yield batch;
    }
    if (hasMore) return { count, lastSeq, hasMore: true, aborted: false };
    if (!cut && rows.length < take) return { count, lastSeq, hasMore: false, aborted: false };
  }
}

/**
 * One item of the §3 wire format, `{"key","value","created","updated","version"}` (the version a JSON
 * number, SPEC §9.1), as JSON text in three pieces, the value (as stored) apart: a stream writes a large
 * one without copying it. The stored JSON text is inserted as is, unless `meta` asks for `_meta`.
 */
export function itemJsonPieces(row: ItemRow, meta: boolean): [string, string, string] {
  const value = meta ? withMeta(row.value, row.created, row.updated, row.version) : row.value;
  return [
    `{"key":${JSON.stringify(row.key)},"value":`,
    value,
    `,"created":"${row.created}","updated":"${row.updated}","version":${row.version}}`,
  ];
}

/**
 * An object value with `_meta: {created, updated, version}` added (replacing one it had; the version, a
 * decimal string, written as a JSON number); other values unchanged.
 */
export function withMeta(valueJson: string, created: string, updated: string, version: string): string {
  if (!valueJson.startsWith("{")) return valueJson;
  const meta = `{"created":"${created}","updated":"${updated}","version":${version}}`;
  // The object may already have top-level _meta members (also spelled with \u escapes, the only escapes
  // "_meta" can have): they are cut out of the text, every other byte kept, so that one _meta remains.
  const rest =
    valueJson.includes('"_meta"') || valueJson.includes("\\u")
      ? withoutTopLevelMember(valueJson, "_meta")
      : valueJson;
  return rest === "{}" ? `{"_meta":${meta}}` : `${rest.slice(0, -1)},"_meta":${meta}}`;
}

export interface NewItem {
  key: string;
  /** The value's JSON text: as received (server/services/json-text.ts), or JSON.stringify of a value that arrived parsed (tRPC). */
  valueJson: string;
  /** SPEC §9.1: written only if the item exists (not expired) with this version (decimal). */
  ifVersion?: string;
  /** SPEC §9.1: written only if no live item has this key. */
  ifAbsent?: boolean;
  /** SPEC §9.2: expires this many seconds after the request's timestamp. */
  ttlSeconds?: number;
  /** SPEC §9.2: expires at this instant (ISO 8601). Without it or ttlSeconds, the collection's default applies. */
  expiresAt?: string;
}

/** An item whose condition (ifVersion / ifAbsent) did not hold: not written. */
export interface FailedCondition {
  /** Its position in the items given. */
  index: number;
  key: string;
  /** The item's current version, or null when it does not exist. */
  current: string | null;
}

/** What was written of one item (upsertItems with `rows`). */
export interface WrittenItem {
  key: string;
  version: string;
  created: string;
  updated: string;
  expires: string | null;
  /** True when the key did not exist (or had expired). */
  isNew: boolean;
}

export interface UpsertOutcome {
  written: number;
  created: number;
  /** The one timestamp of this request (ISO UTC, microseconds). */
  timestamp: string;
  failed: FailedCondition[];
  /** The written items, when asked for (`rows: true`). */
  rows?: WrittenItem[];
}

export interface UpsertOptions {
  /** Return each written item's version and timestamps (for single-item writes: PUT). */
  rows?: boolean;
  /** The request's timestamp (ISO) when it writes with several calls (an import): all its items share it. */
  timestamp?: string;
}

/** Rows per INSERT … SELECT FROM unnest statement. */
export const UPSERT_CHUNK = 1000;

const utcText = (expr: string) =>
  Prisma.raw(`to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

/**
 * The per-collection writer lock. It serializes the writers that insert new keys into one collection, so
 * that sequence numbers commit in order and a keyset cursor never skips a row that commits late. Writes
 * that only update existing keys do not take it (an update keeps the item's sequence number).
 */
const collectionLock = (collectionId: string) =>
  Prisma.sql`pg_advisory_xact_lock(7301, hashtext(${collectionId}))`;

/** This transaction's id as a bigint (assigning one if it has none yet). */
const currentXid = Prisma.sql`pg_current_xact_id()::text::bigint`;

const hasConditions = (items: NewItem[]) =>
  items.some(
    (it) => it.ifVersion !== undefined || it.ifAbsent || it.ttlSeconds !== undefined || it.expiresAt,
  );

/**
 * The chunk as rows `t(k, v, ord, ifv, ifa, ttl, exp)`, from JSON parameters: the keys as an array of
 * strings, and the values as an array of the values themselves, whose element texts PostgreSQL's json type
 * gives back exactly as written, so that nothing is escaped on either side (a text[] literal is escaped
 * element by element in JavaScript: a tenth of an upsert's CPU, bench). Conditions and expiry come as a
 * third array only when some item has one.
 */
function inputRows(chunk: NewItem[]): Prisma.Sql {
  const keys = JSON.stringify(chunk.map((it) => it.key));
  const values = `[${chunk.map((it) => it.valueJson).join(",")}]`;
  if (!hasConditions(chunk)) {
    return Prisma.sql`(SELECT e.k, e.v::text AS v, e.ord, NULL::bigint AS ifv, false AS ifa, NULL::float8 AS ttl, NULL::timestamptz AS exp
      FROM ROWS FROM (json_array_elements_text(${keys}::json), json_array_elements(${values}::json)) WITH ORDINALITY AS e(k, v, ord)) AS t`;
  }
  const extra = JSON.stringify(
    chunk.map((it) => [
      it.ifVersion ?? null,
      it.ifAbsent ?? false,
      it.ttlSeconds ?? null,
      it.expiresAt ?? null,
    ]),
  );
  return Prisma.sql`(SELECT e.k, e.v::text AS v, e.ord, (e.x->>0)::bigint AS ifv, (e.x->>1)::boolean AS ifa,
      (e.x->>2)::float8 AS ttl, (e.x->>3)::timestamptz AS exp
    FROM ROWS FROM (json_array_elements_text(${keys}::json), json_array_elements(${values}::json),
                    json_array_elements(${extra}::json)) WITH ORDINALITY AS e(k, v, x, ord)) AS t`;
}

/** PostgreSQL gave up on a lock cycle (40P01), or a write met a key created meanwhile (40001, item_write_conflict). */
const isRetryable = (e: unknown) => {
  const code = (e as { code?: unknown })?.code;
  return code === "40P01" || code === "40001";
};

/** Runs `work` again (up to 8 times in all) when PostgreSQL rolled it back for a retryable reason. */
async function retryConflicts<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (attempt < 8 && isRetryable(e)) continue;
      throw e;
    }
  }
}

/**
 * Writes the items atomically. New keys get created = updated = one timestamp of the request; existing
 * keys keep `created`. Keys must be distinct. Items whose condition fails are not written (`failed`).
 * Up to UPSERT_CHUNK items take one statement (its own transaction, one round trip); more take one
 * transaction with a statement per chunk.
 */
export function upsertItems(
  sql: Sql,
  collectionId: string,
  items: NewItem[],
  options: UpsertOptions = {},
): Promise<UpsertOutcome> {
  return retryConflicts(() =>
    items.length <= UPSERT_CHUNK
      ? upsertChunk(sql, collectionId, items, 0, options)
      : sql.transaction((tx) => upsertItemsIn(tx, collectionId, items, options)),
  );
}

/**
 * The CTEs `held` and `locked` that take a write's locks, in the one order every writer uses: the
 * existing rows of `rows` (a query with a column `k`) in key order, tombstones included, then the
 * collection lock when a key is new (absent, or a tombstone or expired: it gets a new sequence number).
 * `held` has the columns of `rows` (carried along, so that no join of two CTEs is needed after: the
 * planner has no statistics for them and plans such a join as nested loops, a million key comparisons
 * for a thousand items), whether the key's row exists, and its live version (null when absent or not live).
 */
function lockCtes(collectionId: string, rows: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`held AS MATERIALIZED (
           SELECT s.*, e.present, CASE WHEN e.live THEN e.version END AS live_version
           FROM (SELECT * FROM (${rows}) AS given ORDER BY k COLLATE "C") AS s
           LEFT JOIN LATERAL (
             SELECT true AS present, i.version, ${liveSql("i")} AS live FROM items i
             WHERE i.collection_id = ${collectionOf(collectionId)} AND i.key = s.k
             FOR NO KEY UPDATE) AS e ON true),
         locked AS MATERIALIZED (
           SELECT ${collectionLock(collectionId)} IS NULL AS done
           FROM (SELECT bool_or(live_version IS NULL) AS any_new FROM held) AS h WHERE h.any_new)`;
}

/**
 * One statement for at most UPSERT_CHUNK items (`base`: the index of its first item in the request).
 *
 * The keys that exist are locked first, in key order (so that concurrent writers of overlapping keys
 * cannot deadlock each other, and a concurrent delete cannot make one of them new again); the collection
 * lock is taken only when a key is new, so that writers that only update run in parallel. The timestamp
 * and the transaction id are read after the locks. `held` is read whole (an aggregate) before the
 * collection lock: a CTE is filled as it is read, and `LIMIT 1` there would take the collection lock at
 * the first new key, with later rows still to lock (a lock cycle with a writer holding one of those rows).
 *
 * Change order (item_changes, SPEC §9.3). A change's position is (xid, version). Locking a row gives a
 * transaction its id, so a writer may hold an id smaller than that of the writer of the row it waited
 * for; its xid is then raised to the row's (`greatest`), and its version, drawn after the lock, is
 * greater: for every key, position order is commit order. A raised position is still safe for readers,
 * who stop below the oldest running transaction: that is at most our own id until we commit. Deleted
 * keys stay as tombstones that keep their position for the same reason. A key found absent that a
 * concurrent writer created meanwhile makes the statement fail with 40001 (item_write_conflict) and run
 * again: its condition and its "created" were decided on a state that no longer holds.
 */
async function upsertChunk(
  sql: Sql,
  collectionId: string,
  items: NewItem[],
  base: number,
  options: UpsertOptions,
): Promise<UpsertOutcome> {
  const [row] = await sql.query<{
    ts: string;
    total: number;
    created: number;
    failed: string | null;
    rows: string | null;
    conflict: boolean | null;
  }>(Prisma.sql`
    WITH ${lockCtes(collectionId, Prisma.sql`SELECT t.* FROM ${inputRows(items)}`)},
         stamp AS MATERIALIZED (
           SELECT coalesce(${options.timestamp ?? null}::timestamptz, clock_timestamp()) AS ts, ${currentXid} AS xid,
                  (SELECT default_ttl_seconds FROM collections WHERE id = ${collectionId}::uuid) AS default_ttl
           FROM (SELECT count(*) FROM held, locked) AS after_locks),
         decided AS MATERIALIZED (
           SELECT h.k, h.v, h.ord, h.present, h.live_version,
                  CASE WHEN h.ifa THEN h.live_version IS NULL
                       WHEN h.ifv IS NOT NULL THEN h.live_version IS NOT DISTINCT FROM h.ifv
                       ELSE true END AS ok,
                  CASE WHEN h.ttl IS NOT NULL THEN stamp.ts + h.ttl * interval '1 second'
                       WHEN h.exp IS NOT NULL THEN h.exp
                       ELSE stamp.ts + stamp.default_ttl * interval '1 second' END AS expires
           FROM held h CROSS JOIN stamp),
         written AS (
           INSERT INTO items AS i (collection_id, key, value, created, updated, version, xid, expires)
           SELECT ${collectionId}::uuid, d.k, d.v, stamp.ts, stamp.ts, nextval('item_versions'), stamp.xid, d.expires
           FROM decided d CROSS JOIN stamp
           WHERE d.ok
           ORDER BY d.ord
           ON CONFLICT (collection_id, key) DO UPDATE
             SET value = EXCLUDED.value, updated = EXCLUDED.updated, version = nextval('item_versions'),
                 xid = greatest(i.xid, EXCLUDED.xid), expires = EXCLUDED.expires,
                 created = CASE WHEN ${liveSql("i")} THEN i.created ELSE EXCLUDED.created END,
                 seq = CASE WHEN ${liveSql("i")} THEN i.seq ELSE nextval(pg_get_serial_sequence('items', 'seq')) END
           RETURNING i.key, i.value, i.version, i.xid, i.created, i.updated, i.expires, (i.xmax = 0) AS inserted),
         logged AS (
           INSERT INTO item_changes (collection_id, xid, version, key, kind, value, at)
           SELECT ${collectionId}::uuid, w.xid, w.version, w.key, 'put', w.value, w.updated
           FROM written w)
    SELECT (SELECT ${utcText("ts")} FROM stamp) AS ts,
           (SELECT count(*) FROM written)::int AS total,
           (SELECT count(*) FROM decided WHERE ok AND live_version IS NULL)::int AS created,
           (SELECT json_agg(json_build_array(ord - 1, k, live_version::text) ORDER BY ord) FROM decided WHERE NOT ok)::text AS failed,
           ${
             options.rows
               ? Prisma.sql`(SELECT json_agg(json_build_array(w.key, w.version::text, ${utcText("w.created")}, ${utcText("w.updated")},
                   ${utcText("w.expires")}, d.live_version IS NULL) ORDER BY d.ord) FROM written w JOIN decided d ON d.k = w.key)::text`
               : Prisma.sql`NULL::text`
           } AS rows,
           -- More rows updated than were found: a key found absent was created meanwhile (counted, not
           -- joined: a join of two CTEs of a thousand rows each is planned blind, as nested loops).
           CASE WHEN (SELECT count(*) FROM written WHERE NOT inserted)
                     > (SELECT count(*) FROM decided WHERE ok AND present IS NOT NULL)
                THEN item_write_conflict() END AS conflict`);
  const failed = row!.failed
    ? (JSON.parse(row!.failed) as [number, string, string | null][]).map(([index, key, current]) => ({
        index: base + index,
        key,
        current,
      }))
    : [];
  const outcome: UpsertOutcome = { written: row!.total, created: row!.created, timestamp: row!.ts, failed };
  if (options.rows) {
    outcome.rows = (
      JSON.parse(row!.rows ?? "[]") as [string, string, string, string, string | null, boolean][]
    ).map(([key, version, created, updated, expires, isNew]) => ({
      key,
      version,
      created,
      updated,
      expires,
      isNew,
    }));
  }
  return outcome;
}

/**
 * The items written inside the caller's transaction `tx` (any number): the locks of every item first, in
 * the same order as upsertChunk takes them (the existing keys in key order, then the collection lock when
 * a key is new), so that the two never wait on each other in a cycle, then a statement per chunk. May
 * throw 40001 or 40P01 (see upsertChunk): the caller's transaction must then be rolled back, and may run again.
 */
export async function upsertItemsIn(
  tx: Sql,
  collectionId: string,
  items: NewItem[],
  options: UpsertOptions = {},
): Promise<UpsertOutcome> {
  if (items.length > UPSERT_CHUNK) {
    const keys = JSON.stringify(items.map((it) => it.key));
    const [stamp] = await tx.query<{ ts: string }>(Prisma.sql`
      WITH ${lockCtes(collectionId, Prisma.sql`SELECT k FROM json_array_elements_text(${keys}::json) AS k`)}
      SELECT ${utcText("clock_timestamp()")} AS ts FROM (SELECT count(*) FROM held, locked) AS after_locks`);
    options = { ...options, timestamp: options.timestamp ?? stamp!.ts };
  }
  const total: UpsertOutcome = { written: 0, created: 0, timestamp: "", failed: [] };
  for (let i = 0; i < items.length; i += UPSERT_CHUNK) {
    const part = await upsertChunk(tx, collectionId, items.slice(i, i + UPSERT_CHUNK), i, options);
    total.written += part.written;
    total.created += part.created;
    total.timestamp ||= part.timestamp;
    total.failed.push(...part.failed);
    if (part.rows) (total.rows ??= []).push(...part.rows);
  }
  return total;
}

export interface DeleteOptions {
  /** Items per DELETE statement. */
  batchSize: number;
  /** Stops before the next batch once aborted; items already deleted stay deleted. */
  signal?: AbortSignal;
}

/**
 * The CTEs `stamp` and `gone` of a deletion: the rows of `held` (a CTE of their collection_id and seq,
 * locked) made tombstones (value null, expired now), each with a new version and the position rule of
 * upsertChunk; and `logged`, which records them in the change log as `kind`. `delete` takes live rows
 * only, `expire` (the sweep, server/services/sweep.ts) expired ones only. Whether `held` is empty or
 * not, the transaction id is read after its locks (none is taken when nothing was found).
 */
export const tombstoneCtes = (kind: "delete" | "expire") =>
  Prisma.sql`stamp AS MATERIALIZED (
      SELECT clock_timestamp() AS ts, pg_current_xact_id_if_assigned()::text::bigint AS xid
      FROM (SELECT count(*) FROM held) AS after_locks),
    gone AS MATERIALIZED (
      UPDATE items i SET value = NULL, expires = stamp.ts, version = nextval('item_versions'),
             xid = greatest(i.xid, stamp.xid)
      FROM stamp, held
      WHERE i.collection_id = held.collection_id AND i.seq = held.seq AND i.value IS NOT NULL
        ${kind === "delete" ? Prisma.sql`AND ${liveSql("i")}` : Prisma.sql`AND NOT ${liveSql("i")}`}
      RETURNING i.collection_id, i.key, i.seq, i.version, i.xid, stamp.ts),
    logged AS (
      INSERT INTO item_changes (collection_id, xid, version, key, kind, value, at)
      SELECT g.collection_id, g.xid, g.version, g.key, ${kind}::"ChangeKind", NULL, g.ts FROM gone g)`;

/**
 * Deletes the matching items in batches (oldest first), yielding the deleted keys of each batch.
 * Items written after the call started are not deleted. Each batch is its own statement.
 *
 * A batch picks the next batchSize matching rows after the previous batch's last pick, locks them in key
 * order (the order writers lock rows in, so that the two do not deadlock), and deletes those still there: rows another transaction deleted meanwhile make a batch come back short, so the end is
 * when a batch picks fewer rows than it asked for, not when it deletes fewer.
 */
export async function* deleteItemsBatches(
  sql: Sql,
  collectionId: string,
  filter: ItemFilter,
  options: DeleteOptions,
): AsyncGenerator<string[], { count: number; aborted: boolean }, void> {
  const where = filterSql(collectionId, filter);
  const [{ max }] = (await sql.query<{ max: string }>(Prisma.sql`
    SELECT coalesce(max(seq), 0)::text AS max FROM items WHERE collection_id = ${collectionId}::uuid`)) as [
    { max: string },
  ];
  let count = 0;
  let after = "0";
  for (;;) {
    if (options.signal?.aborted) return { count, aborted: true };
    const [batch] = await retryConflicts(() =>
      sql.query<{ picked: number; last: string | null; deleted: string }>(Prisma.sql`
        WITH picked AS MATERIALIZED (
               SELECT seq FROM items WHERE ${where} AND seq > ${after}::bigint AND seq <= ${max}::bigint
               ORDER BY seq LIMIT ${options.batchSize}),
             held AS MATERIALIZED (
               SELECT collection_id, seq FROM items
               WHERE collection_id = ${collectionId}::uuid AND seq IN (SELECT seq FROM picked)
               ORDER BY key COLLATE "C" FOR NO KEY UPDATE),
             ${tombstoneCtes("delete")}
        SELECT (SELECT count(*) FROM picked)::int AS picked, (SELECT max(seq) FROM picked)::text AS last,
               (SELECT coalesce(json_agg(key ORDER BY seq), '[]'::json) FROM gone)::text AS deleted`),
    );
    const keys = JSON.parse(batch!.deleted) as string[];
    if (keys.length > 0) {
      count += keys.length;
      yield keys;
    }
    if (batch!.picked < options.batchSize || batch!.last === null) return { count, aborted: false };
    after = batch!.last;
  }
}

/** One live item by exact key, or null. */
export async function getItem(sql: Sql, collectionId: string, key: string): Promise<ItemRow | null> {
  const rows = await sql.query<ItemRow>(
    Prisma.sql`
    SELECT ${itemRowColumns("items")} FROM items
    WHERE collection_id = ${collectionOf(collectionId)} AND key = ${key} AND ${liveSql()}`,
    { prepare: true },
  );
  return rows[0] ?? null;
}

/** streamItems' answer for an item already read (an exact key without other filters, offset or cursor). */
export async function* itemAsStream(row: ItemRow | null): AsyncGenerator<ItemRow[], StreamEnd, void> {
  if (row) yield [row];
  return { count: row ? 1 : 0, lastSeq: row?.seq ?? null, hasMore: false, aborted: false };
}

export interface DeleteOneOutcome {
  /** True when the item existed (and the condition held) and is now deleted. */
  deleted: boolean;
  /** The item's version before the call (null when it did not exist). */
  current: string | null;
}

/**
 * Deletes one live item by exact key (a `*` in it is literal). With `ifVersion` (SPEC §9.1 If-Match),
 * only when its current version is that one.
 */
export function deleteItem(
  sql: Sql,
  collectionId: string,
  key: string,
  ifVersion?: string,
): Promise<DeleteOneOutcome> {
  return retryConflicts(async () => {
    const [row] = await sql.query<{ current: string | null; deleted: number }>(
      Prisma.sql`
      WITH cur AS MATERIALIZED (
             SELECT collection_id, seq, version FROM items
             WHERE collection_id = ${collectionOf(collectionId)} AND key = ${key} AND ${liveSql()}
             FOR NO KEY UPDATE),
           held AS MATERIALIZED (
             SELECT collection_id, seq FROM cur
             WHERE ${ifVersion ?? null}::bigint IS NULL OR cur.version = ${ifVersion ?? null}::bigint),
           ${tombstoneCtes("delete")}
      SELECT (SELECT version::text FROM cur) AS current, (SELECT count(*) FROM gone)::int AS deleted`,
      { prepare: true },
    );
    return { deleted: row!.deleted > 0, current: row!.current };
  });
}

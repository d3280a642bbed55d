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
      `${iso("updated")} AS ${prefix}updated, ${col("seq")}::text AS ${prefix}seq`,
  );
}

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

/** The WHERE conditions of a filter on one collection. */
function filterSql(collectionId: string, filter: ItemFilter): Prisma.Sql {
  const parts: Prisma.Sql[] = [Prisma.sql`collection_id = ${collectionOf(collectionId)}`];
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
      SELECT key, value, created, updated, seq, run::text AS run${boundKnown ? Prisma.empty : Prisma.sql`, ${bound}::text AS bound`} FROM (
        SELECT page.*, sum(page.len) OVER (ORDER BY page.n ROWS UNBOUNDED PRECEDING) AS run
        FROM (
          SELECT ${Prisma.raw(shieldedText("key"))} AS key, value, ${isoUtc("created")} AS created, ${isoUtc("updated")} AS updated,
            seq AS n, seq::text AS seq, octet_length(value) AS len
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

/** One item of the §3 wire format. The stored JSON text is inserted as is, unless `meta` asks for `_meta`. */
/** One item as JSON text in three pieces, the value (as stored) apart: a stream writes a large one without copying it. */
export function itemJsonPieces(row: ItemRow, meta: boolean): [string, string, string] {
  const value = meta ? withMeta(row.value, row.created, row.updated) : row.value;
  return [
    `{"key":${JSON.stringify(row.key)},"value":`,
    value,
    `,"created":"${row.created}","updated":"${row.updated}"}`,
  ];
}

/** An object value with `_meta: {created, updated}` added (replacing one it had); other values unchanged. */
export function withMeta(valueJson: string, created: string, updated: string): string {
  if (!valueJson.startsWith("{")) return valueJson;
  const meta = `{"created":"${created}","updated":"${updated}"}`;
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
}

export interface UpsertOutcome {
  written: number;
  created: number;
  /** The one timestamp of this request (ISO UTC, microseconds). */
  timestamp: string;
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

/**
 * The chunk as rows `t(k, v, ord)`, from two JSON parameters: the keys as an array of strings, and the
 * values as an array of the values themselves, whose element texts PostgreSQL's json type gives back
 * exactly as written, so that nothing is escaped on either side (a text[] literal is escaped element by
 * element in JavaScript: a tenth of an upsert's CPU, bench).
 */
function inputRows(chunk: NewItem[]): Prisma.Sql {
  const keys = JSON.stringify(chunk.map((it) => it.key));
  const values = `[${chunk.map((it) => it.valueJson).join(",")}]`;
  return Prisma.sql`(SELECT e.k, e.v::text AS v, e.ord
    FROM ROWS FROM (json_array_elements_text(${keys}::json), json_array_elements(${values}::json)) WITH ORDINALITY AS e(k, v, ord)) AS t`;
}

/** INSERT … ON CONFLICT DO UPDATE of the rows `t(k, v, ord)` of `from`, in order, stamped `ts`: the CTE `written`. */
function writtenCte(collectionId: string, from: Prisma.Sql, ts: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`written AS (
    INSERT INTO items (collection_id, key, value, created, updated)
    SELECT ${collectionId}::uuid, t.k, t.v, ${ts}, ${ts}
    FROM ${from}
    ORDER BY t.ord
    ON CONFLICT (collection_id, key) DO UPDATE SET value = EXCLUDED.value, updated = EXCLUDED.updated
    RETURNING (xmax = 0) AS inserted)`;
}

const countsSql = Prisma.sql`count(*)::int AS total, (count(*) FILTER (WHERE inserted))::int AS created`;

/** PostgreSQL gave up on a lock cycle (deadlock_detected): the statement was rolled back and can run again. */
const isDeadlock = (e: unknown) => (e as { code?: unknown })?.code === "40P01";

/** Runs `work` again (up to 3 times in all) when PostgreSQL broke a deadlock by rolling it back. */
async function retryDeadlock<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (attempt < 3 && isDeadlock(e)) continue;
      throw e;
    }
  }
}

/**
 * Writes the items atomically. New keys get created = updated = one timestamp of the request; existing
 * keys keep `created`. Keys must be distinct. Up to UPSERT_CHUNK items take one statement (its own
 * transaction, one round trip); more take one transaction with a statement per chunk.
 */
export function upsertItems(sql: Sql, collectionId: string, items: NewItem[]): Promise<UpsertOutcome> {
  return retryDeadlock(() =>
    items.length <= UPSERT_CHUNK
      ? upsertChunk(sql, collectionId, items)
      : upsertInTransaction(sql, collectionId, items),
  );
}

/**
 * The CTEs `held` and `locked` that take a write's locks, in the one order every writer uses: the
 * existing rows of `keys` (a query of a column `k`) in key order, then the collection lock when a key is new.
 */
function lockCtes(collectionId: string, keys: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`held AS MATERIALIZED (
           SELECT s.k, e.present
           FROM (SELECT k FROM (${keys}) AS given ORDER BY k COLLATE "C") AS s
           LEFT JOIN LATERAL (
             SELECT true AS present FROM items i
             WHERE i.collection_id = ${collectionOf(collectionId)} AND i.key = s.k
             FOR NO KEY UPDATE) AS e ON true),
         locked AS MATERIALIZED (
           SELECT ${collectionLock(collectionId)} IS NULL AS done
           FROM (SELECT bool_or(present IS NULL) AS any_new FROM held) AS h WHERE h.any_new)`;
}

/**
 * One statement. The keys that exist are locked first, in key order (so that concurrent writers of
 * overlapping keys cannot deadlock each other, and a concurrent delete cannot make one of them new
 * again); the collection lock is taken only when a key is new, so that writers that only update run in
 * parallel. The timestamp is read after the locks. `held` is read whole (an aggregate) before the
 * collection lock: a CTE is filled as it is read, and `LIMIT 1` there would take the collection lock at
 * the first new key, with later rows still to lock (a lock cycle with a writer holding one of those rows).
 */
async function upsertChunk(sql: Sql, collectionId: string, items: NewItem[]): Promise<UpsertOutcome> {
  const [row] = await sql.query<{ ts: string; total: number; created: number }>(Prisma.sql`
    WITH input AS MATERIALIZED (SELECT t.k, t.v, t.ord FROM ${inputRows(items)}),
         ${lockCtes(collectionId, Prisma.sql`SELECT k FROM input`)},
         stamp AS MATERIALIZED (SELECT clock_timestamp() AS ts FROM (SELECT count(*) FROM held, locked) AS after_locks),
         ${writtenCte(collectionId, Prisma.sql`input AS t CROSS JOIN stamp`, Prisma.sql`stamp.ts`)}
    SELECT (SELECT ${utcText("ts")} FROM stamp) AS ts, ${countsSql} FROM written`);
  return { written: row!.total, created: row!.created, timestamp: row!.ts };
}

/**
 * More than a chunk: one transaction that takes its locks in the same order as upsertChunk (the existing
 * keys in key order, then the collection lock when a key is new), so that the two never wait on each other
 * in a cycle, then writes a statement per chunk.
 */
function upsertInTransaction(sql: Sql, collectionId: string, items: NewItem[]): Promise<UpsertOutcome> {
  return sql.transaction(async (tx) => {
    const keys = JSON.stringify(items.map((it) => it.key));
    const [stamp] = await tx.query<{ ts: string }>(Prisma.sql`
      WITH ${lockCtes(collectionId, Prisma.sql`SELECT k FROM json_array_elements_text(${keys}::json) AS k`)}
      SELECT ${utcText("clock_timestamp()")} AS ts FROM (SELECT count(*) FROM held, locked) AS after_locks`);
    const ts = stamp!.ts;
    let written = 0;
    let created = 0;
    for (let i = 0; i < items.length; i += UPSERT_CHUNK) {
      const chunk = items.slice(i, i + UPSERT_CHUNK);
      const [counts] = await tx.query<{ total: number; created: number }>(Prisma.sql`
        WITH ${writtenCte(collectionId, inputRows(chunk), Prisma.sql`${ts}::timestamptz`)}
        SELECT ${countsSql} FROM written`);
      written += counts!.total;
      created += counts!.created;
    }
    return { written, created, timestamp: ts };
  });
}

export interface DeleteOptions {
  /** Items per DELETE statement. */
  batchSize: number;
  /** Stops before the next batch once aborted; items already deleted stay deleted. */
  signal?: AbortSignal;
}

/**
 * Deletes the matching items in batches (oldest first), yielding the deleted keys of each batch.
 * Items written after the call started are not deleted. Each batch is its own statement.
 *
 * A batch picks the next batchSize matching rows after the previous batch's last pick and deletes those
 * still there: rows another transaction deleted meanwhile make a batch come back short, so the end is
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
    const [batch] = await retryDeadlock(() =>
      sql.query<{ picked: number; last: string | null; deleted: string }>(Prisma.sql`
        WITH picked AS MATERIALIZED (
               SELECT seq FROM items WHERE ${where} AND seq > ${after}::bigint AND seq <= ${max}::bigint
               ORDER BY seq LIMIT ${options.batchSize}),
             gone AS (
               DELETE FROM items
               WHERE collection_id = ${collectionId}::uuid AND seq IN (SELECT seq FROM picked)
               RETURNING key, seq)
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

/** One item by exact key, or null. */
export async function getItem(sql: Sql, collectionId: string, key: string): Promise<ItemRow | null> {
  const rows = await sql.query<ItemRow>(
    Prisma.sql`
    SELECT ${itemRowColumns("items")} FROM items WHERE collection_id = ${collectionOf(collectionId)} AND key = ${key}`,
    { prepare: true },
  );
  return rows[0] ?? null;
}

/** streamItems' answer for an item already read (an exact key without other filters, offset or cursor). */
export async function* itemAsStream(row: ItemRow | null): AsyncGenerator<ItemRow[], StreamEnd, void> {
  if (row) yield [row];
  return { count: row ? 1 : 0, lastSeq: row?.seq ?? null, hasMore: false, aborted: false };
}

/** Deletes one item by exact key (a `*` in it is literal); true when it existed. */
export async function deleteItem(sql: Sql, collectionId: string, key: string): Promise<boolean> {
  const n = await sql.execute(
    Prisma.sql`DELETE FROM items WHERE collection_id = ${collectionOf(collectionId)} AND key = ${key}`,
    { prepare: true },
  );
  return n > 0;
}

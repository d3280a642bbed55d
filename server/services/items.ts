import { Prisma } from "../generated/prisma/client.js";
import type { Sql } from "../db.js";
import { keyMatch } from "./patterns.js";
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

const isoUtc = (column: string) => Prisma.raw(`to_char("${column}" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

/** The columns of an ItemRow read from the items row `alias`, named `<prefix>key` and so on. */
export function itemRowColumns(alias: string, prefix = ""): Prisma.Sql {
  const col = (c: string) => `${alias}."${c}"`;
  const iso = (c: string) => `to_char(${col(c)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  return Prisma.raw(
    `${col("key")} AS ${prefix}key, ${col("value")} AS ${prefix}value, ${iso("created")} AS ${prefix}created, ` +
      `${iso("updated")} AS ${prefix}updated, ${col("seq")}::text AS ${prefix}seq`,
  );
}

function rangeSql(column: "created" | "updated", range: TimeRange | undefined): Prisma.Sql[] {
  const col = Prisma.raw(`"${column}"`);
  const out: Prisma.Sql[] = [];
  if (range?.after) {
    out.push(range.after.inclusive ? Prisma.sql`${col} >= ${range.after.at}::timestamptz` : Prisma.sql`${col} > ${range.after.at}::timestamptz`);
  }
  if (range?.before) {
    out.push(range.before.inclusive ? Prisma.sql`${col} <= ${range.before.at}::timestamptz` : Prisma.sql`${col} < ${range.before.at}::timestamptz`);
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

export interface StreamOptions {
  /** Keyset position: only items with a greater sequence number (from a cursor). */
  afterSeq?: string;
  /** Skip this many matching items first. */
  offset?: number;
  /** At most this many items in all. */
  limit?: number;
  /** Items per database query; each query takes and releases a connection, no transaction spans batches. */
  batchSize: number;
  /** Stops before the next query once aborted (the client went away). */
  signal?: AbortSignal;
}

export interface StreamEnd {
  /** Items yielded. */
  count: number;
  /** Sequence number of the last item yielded (the keyset position for a cursor), or null. */
  lastSeq: string | null;
  /** True when `limit` stopped the stream and more items match. */
  hasMore: boolean;
  /** True when the signal stopped the stream. */
  aborted: boolean;
}

/**
 * Matching items in insertion order, as batches of at most batchSize rows, read with a keyset on the
 * sequence number. Returns (as the generator's return value) where it stopped and whether more match.
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
  // The first batch reads the bound in the same statement; the later ones reuse it.
  let bound: Prisma.Sql = Prisma.sql`(SELECT max(seq) FROM items WHERE collection_id = ${collectionId}::uuid)`;
  let after = options.afterSeq ?? "0";
  let skip = options.offset ?? 0;
  let count = 0;
  let lastSeq: string | null = null;
  for (;;) {
    if (signal?.aborted) return { count, lastSeq, hasMore: false, aborted: true };
    const remaining = limit === undefined ? Infinity : limit - count;
    // Once fewer than a batch remain, one extra row tells whether more items match.
    const take = Math.min(options.batchSize, remaining + 1);
    const rows = await sql.query<ItemRow & { bound: string }>(Prisma.sql`
      SELECT key, value, ${isoUtc("created")} AS created, ${isoUtc("updated")} AS updated, seq::text AS seq,
        ${bound}::text AS bound
      FROM items
      WHERE ${where} AND seq > ${after}::bigint AND seq <= ${bound}
      ORDER BY items.seq
      LIMIT ${take} OFFSET ${skip}`, { prepare });
    skip = 0;
    if (rows.length > 0) bound = Prisma.sql`${rows[0]!.bound}::bigint`;
    const hasMore = rows.length > remaining;
    const batch = hasMore ? rows.slice(0, remaining) : rows;
    if (batch.length > 0) {
      count += batch.length;
      lastSeq = after = batch[batch.length - 1]!.seq;
      yield batch;
    }
    if (hasMore) return { count, lastSeq, hasMore: true, aborted: false };
    if (rows.length < take) return { count, lastSeq, hasMore: false, aborted: false };
  }
}

/** One item of the §3 wire format. The stored JSON text is inserted as is, unless `meta` asks for `_meta`. */
export function itemJson(row: ItemRow, meta: boolean): string {
  const value = meta ? withMeta(row.value, row.created, row.updated) : row.value;
  return `{"key":${JSON.stringify(row.key)},"value":${value},"created":"${row.created}","updated":"${row.updated}"}`;
}

/** An object value with `_meta: {created, updated}` added (replacing one it had); other values unchanged. */
export function withMeta(valueJson: string, created: string, updated: string): string {
  if (!valueJson.startsWith("{")) return valueJson;
  const meta = `{"created":"${created}","updated":"${updated}"}`;
  if (valueJson.includes('"_meta"')) {
    // Rare: the object may already have a top-level _meta, which must not appear twice.
    const obj = JSON.parse(valueJson) as Record<string, unknown>;
    if (Object.hasOwn(obj, "_meta")) {
      delete obj._meta;
      const rest = JSON.stringify(obj);
      return rest === "{}" ? `{"_meta":${meta}}` : `${rest.slice(0, -1)},"_meta":${meta}}`;
    }
  }
  return valueJson === "{}" ? `{"_meta":${meta}}` : `${valueJson.slice(0, -1)},"_meta":${meta}}`;
}

export interface NewItem {
  key: string;
  /** The value's JSON text (JSON.stringify of the received value). */
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

const utcText = (expr: string) => Prisma.raw(`to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

/**
 * The per-collection writer lock. It serializes the writers that insert new keys into one collection, so
 * that sequence numbers commit in order and a keyset cursor never skips a row that commits late. Writes
 * that only update existing keys do not take it (an update keeps the item's sequence number).
 */
const collectionLock = (collectionId: string) => Prisma.sql`pg_advisory_xact_lock(7301, hashtext(${collectionId}))`;

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

/**
 * Writes the items atomically. New keys get created = updated = one timestamp of the request; existing
 * keys keep `created`. Keys must be distinct. Up to UPSERT_CHUNK items take one statement (its own
 * transaction, one round trip); more take one transaction with a statement per chunk.
 */
export async function upsertItems(sql: Sql, collectionId: string, items: NewItem[]): Promise<UpsertOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return items.length <= UPSERT_CHUNK ? await upsertChunk(sql, collectionId, items) : await upsertInTransaction(sql, collectionId, items);
    } catch (e) {
      if (attempt < 3 && isDeadlock(e)) continue;
      throw e;
    }
  }
}

/**
 * One statement. The keys that exist are locked first, in key order (so that concurrent writers of
 * overlapping keys cannot deadlock each other, and a concurrent delete cannot make one of them new
 * again); the collection lock is taken only when a key is new, so that writers that only update run in
 * parallel. The timestamp is read after the locks.
 */
async function upsertChunk(sql: Sql, collectionId: string, items: NewItem[]): Promise<UpsertOutcome> {
  const [row] = await sql.query<{ ts: string; total: number; created: number }>(Prisma.sql`
    WITH input AS MATERIALIZED (SELECT t.k, t.v, t.ord FROM ${inputRows(items)}),
         held AS MATERIALIZED (
           SELECT s.k, e.present
           FROM (SELECT k FROM input ORDER BY k) AS s
           LEFT JOIN LATERAL (
             SELECT true AS present FROM items i
             WHERE i.collection_id = ${collectionOf(collectionId)} AND i.key = s.k
             FOR NO KEY UPDATE) AS e ON true),
         locked AS MATERIALIZED (
           SELECT ${collectionLock(collectionId)} IS NULL AS done
           FROM (SELECT 1 FROM held WHERE present IS NULL LIMIT 1) AS any_new),
         stamp AS MATERIALIZED (SELECT clock_timestamp() AS ts FROM (SELECT count(*) FROM held, locked) AS after_locks),
         ${writtenCte(collectionId, Prisma.sql`input AS t CROSS JOIN stamp`, Prisma.sql`stamp.ts`)}
    SELECT (SELECT ${utcText("ts")} FROM stamp) AS ts, ${countsSql} FROM written`);
  return { written: row!.total, created: row!.created, timestamp: row!.ts };
}

/** More than a chunk: one transaction that takes the collection lock first, then a statement per chunk. */
function upsertInTransaction(sql: Sql, collectionId: string, items: NewItem[]): Promise<UpsertOutcome> {
  return sql.transaction(async (tx) => {
    const [stamp] = await tx.query<{ ts: string }>(Prisma.sql`
      SELECT ${utcText("clock_timestamp()")} AS ts FROM (SELECT ${collectionLock(collectionId)}) AS locked`);
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
 */
export async function* deleteItemsBatches(
  sql: Sql,
  collectionId: string,
  filter: ItemFilter,
  options: DeleteOptions,
): AsyncGenerator<string[], { count: number; aborted: boolean }, void> {
  const where = filterSql(collectionId, filter);
  const [{ max }] = (await sql.query<{ max: string }>(Prisma.sql`
    SELECT coalesce(max(seq), 0)::text AS max FROM items WHERE collection_id = ${collectionId}::uuid`)) as [{ max: string }];
  let count = 0;
  for (;;) {
    if (options.signal?.aborted) return { count, aborted: true };
    const rows = await sql.query<{ key: string; seq: string }>(Prisma.sql`
      DELETE FROM items
      WHERE collection_id = ${collectionId}::uuid AND seq IN (
        SELECT seq FROM items WHERE ${where} AND seq <= ${max}::bigint ORDER BY seq LIMIT ${options.batchSize})
      RETURNING key, seq::text AS seq`);
    if (rows.length > 0) {
      rows.sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
      count += rows.length;
      yield rows.map((r) => r.key);
    }
    if (rows.length < options.batchSize) return { count, aborted: false };
  }
}

/** One item by exact key, or null. */
export async function getItem(sql: Sql, collectionId: string, key: string): Promise<ItemRow | null> {
  const rows = await sql.query<ItemRow>(Prisma.sql`
    SELECT ${itemRowColumns("items")} FROM items WHERE collection_id = ${collectionOf(collectionId)} AND key = ${key}`, { prepare: true });
  return rows[0] ?? null;
}

/** streamItems' answer for an item already read (an exact key without other filters, offset or cursor). */
export async function* itemAsStream(row: ItemRow | null): AsyncGenerator<ItemRow[], StreamEnd, void> {
  if (row) yield [row];
  return { count: row ? 1 : 0, lastSeq: row?.seq ?? null, hasMore: false, aborted: false };
}

/** Deletes one item by exact key (a `*` in it is literal); true when it existed. */
export async function deleteItem(sql: Sql, collectionId: string, key: string): Promise<boolean> {
  const n = await sql.execute(Prisma.sql`DELETE FROM items WHERE collection_id = ${collectionOf(collectionId)} AND key = ${key}`, { prepare: true });
  return n > 0;
}

import { Prisma } from "../generated/prisma/client.js";
import type { PrismaClient } from "../db.js";
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

type Db = PrismaClient | Prisma.TransactionClient;

const isoUtc = (column: string) => Prisma.raw(`to_char("${column}" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

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

/** The WHERE conditions of a filter on one collection. */
function filterSql(collectionId: string, filter: ItemFilter): Prisma.Sql {
  const parts: Prisma.Sql[] = [Prisma.sql`collection_id = ${collectionId}::uuid`];
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
  prisma: Db,
  collectionId: string,
  filter: ItemFilter,
  options: StreamOptions,
): AsyncGenerator<ItemRow[], StreamEnd, void> {
  const where = filterSql(collectionId, filter);
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
    const rows = await prisma.$queryRaw<(ItemRow & { bound: string })[]>`
      SELECT key, value, ${isoUtc("created")} AS created, ${isoUtc("updated")} AS updated, seq::text AS seq,
        ${bound}::text AS bound
      FROM items
      WHERE ${where} AND seq > ${after}::bigint AND seq <= ${bound}
      ORDER BY items.seq
      LIMIT ${take} OFFSET ${skip}`;
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
 * The per-collection writer lock. It serializes writers of one collection, so that sequence numbers
 * commit in order and a keyset cursor never skips a row that commits late.
 */
const collectionLock = (collectionId: string) => Prisma.sql`pg_advisory_xact_lock(7301, hashtext(${collectionId}))`;

/** One INSERT … SELECT FROM unnest … ON CONFLICT of a chunk, as a CTE named `written`, stamped with `ts`. */
function writtenCte(collectionId: string, chunk: NewItem[], ts: Prisma.Sql, from: Prisma.Sql): Prisma.Sql {
  const keys = chunk.map((it) => it.key);
  const values = chunk.map((it) => it.valueJson);
  return Prisma.sql`written AS (
    INSERT INTO items (collection_id, key, value, created, updated)
    SELECT ${collectionId}::uuid, t.k, t.v, ${ts}, ${ts}
    FROM unnest(${keys}::text[], ${values}::text[]) WITH ORDINALITY AS t(k, v, ord)${from}
    ORDER BY t.ord
    ON CONFLICT (collection_id, key) DO UPDATE SET value = EXCLUDED.value, updated = EXCLUDED.updated
    RETURNING (xmax = 0) AS inserted)`;
}

const countsSql = Prisma.sql`count(*)::int AS total, (count(*) FILTER (WHERE inserted))::int AS created`;

/**
 * Writes the items atomically. New keys get created = updated = one timestamp of the request; existing
 * keys keep `created`. Keys must be distinct. Up to UPSERT_CHUNK items take one statement (its own
 * transaction: lock, timestamp and write in one round trip); more take one transaction with a
 * statement per chunk.
 */
export async function upsertItems(prisma: PrismaClient, collectionId: string, items: NewItem[]): Promise<UpsertOutcome> {
  if (items.length <= UPSERT_CHUNK) {
    // The lock is taken (CTE `stamp` needs `locked`) before any row is inserted, and held to the commit.
    const [row] = await prisma.$queryRaw<{ ts: string; total: number; created: number }[]>`
      WITH locked AS MATERIALIZED (SELECT ${collectionLock(collectionId)} IS NULL AS done),
           stamp AS MATERIALIZED (SELECT clock_timestamp() AS ts FROM locked),
           ${writtenCte(collectionId, items, Prisma.sql`stamp.ts`, Prisma.sql` CROSS JOIN stamp`)}
      SELECT (SELECT ${utcText("ts")} FROM stamp) AS ts, ${countsSql} FROM written`;
    return { written: row!.total, created: row!.created, timestamp: row!.ts };
  }
  return prisma.$transaction(
    async (tx) => {
      const [{ ts }] = (await tx.$queryRaw<{ ts: string }[]>`
        SELECT ${utcText("clock_timestamp()")} AS ts FROM (SELECT ${collectionLock(collectionId)}) AS locked`) as [{ ts: string }];
      let written = 0;
      let created = 0;
      for (let i = 0; i < items.length; i += UPSERT_CHUNK) {
        const chunk = items.slice(i, i + UPSERT_CHUNK);
        const [counts] = await tx.$queryRaw<{ total: number; created: number }[]>`
          WITH ${writtenCte(collectionId, chunk, Prisma.sql`${ts}::timestamptz`, Prisma.empty)}
          SELECT ${countsSql} FROM written`;
        written += counts!.total;
        created += counts!.created;
      }
      return { written, created, timestamp: ts };
    },
    { maxWait: 30_000, timeout: 300_000 },
  );
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
  prisma: Db,
  collectionId: string,
  filter: ItemFilter,
  options: DeleteOptions,
): AsyncGenerator<string[], { count: number; aborted: boolean }, void> {
  const where = filterSql(collectionId, filter);
  const [{ max }] = (await prisma.$queryRaw<{ max: string }[]>`
    SELECT coalesce(max(seq), 0)::text AS max FROM items WHERE collection_id = ${collectionId}::uuid`) as [{ max: string }];
  let count = 0;
  for (;;) {
    if (options.signal?.aborted) return { count, aborted: true };
    const rows = await prisma.$queryRaw<{ key: string; seq: string }[]>`
      DELETE FROM items
      WHERE collection_id = ${collectionId}::uuid AND seq IN (
        SELECT seq FROM items WHERE ${where} AND seq <= ${max}::bigint ORDER BY seq LIMIT ${options.batchSize})
      RETURNING key, seq::text AS seq`;
    if (rows.length > 0) {
      rows.sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
      count += rows.length;
      yield rows.map((r) => r.key);
    }
    if (rows.length < options.batchSize) return { count, aborted: false };
  }
}

/** One item by exact key, or null. */
export async function getItem(prisma: Db, collectionId: string, key: string): Promise<ItemRow | null> {
  const rows = await prisma.$queryRaw<ItemRow[]>`
    SELECT key, value, ${isoUtc("created")} AS created, ${isoUtc("updated")} AS updated, seq::text AS seq
    FROM items WHERE collection_id = ${collectionId}::uuid AND key = ${key}`;
  return rows[0] ?? null;
}

/** Deletes one item by exact key (a `*` in it is literal); true when it existed. */
export async function deleteItem(prisma: Db, collectionId: string, key: string): Promise<boolean> {
  const n = await prisma.$executeRaw`DELETE FROM items WHERE collection_id = ${collectionId}::uuid AND key = ${key}`;
  return n > 0;
}

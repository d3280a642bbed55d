import { Prisma } from "../generated/prisma/client.js";
import type { Sql } from "../db.js";
import { keyMatch } from "./patterns.js";
import { withoutTopLevelMember } from "./json-text.js";
import type { TimeRange } from "./time-filters.js";
import type { ItemPosition, Keyset, PendingRows } from "./cursor.js";

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
  /**
   * Only from streamItems with `wire`: the item's JSON text as GET /collections/{name} writes it
   * (itemWireSql); such a row has its seq, but not (or not always) its other fields.
   */
  wire?: string;
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

/** A collection's last insertion position (tombstones included) as `xid.seq` text, or null when it has no row. */
export const lastPositionSql = (collectionId: string) =>
  Prisma.sql`(SELECT ins_xid || '.' || seq FROM items WHERE collection_id = ${collectionOf(collectionId)}
              ORDER BY ins_xid DESC, seq DESC LIMIT 1)`;

/** The transactions running at the statement's snapshot, as a JSON array of decimal strings. */
export const runningXidsSql = Prisma.sql`(SELECT array_to_json(array(
  SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) AS x))::text)`;

/** STREAM_BATCH_BYTES' default (server/env.ts). */
const DEFAULT_BATCH_BYTES = 2 * 1024 * 1024;

export interface StreamOptions {
  /** Keyset: only items after this position, and the rows still owed below it (from a cursor). */
  after?: Keyset;
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
  /** Rows come with `wire` (ItemRow.wire, itemWireSql) and seq; their other ItemRow fields are not read. */
  wire?: boolean;
}

export interface StreamEnd {
  /** Items yielded. */
  count: number;
  /** Where the next page starts (a cursor's keyset) when `hasMore`, else null. */
  next: Keyset | null;
  /** True when `limit` (or `maxBytes`) stopped the stream and more items match. */
  hasMore: boolean;
  /** True when the signal stopped the stream. */
  aborted: boolean;
}

/** A streamed row: an ItemRow with its insertion position's transaction id and the running value bytes. */
type StreamRow = ItemRow & { ins: string; run: string };

const ORIGIN: ItemPosition = { xid: "0", seq: "0" };

/**
 * Matching items in insertion order, (ins_xid, seq), as batches of at most batchSize rows and about
 * batchBytes of values, read with a keyset. Returns (as the generator's return value) where it stopped,
 * whether more match, and where the next page starts.
 *
 * Writers of new keys take no lock in common, so a transaction may commit after a reader has passed its
 * position. Each read therefore notes the transactions running at its snapshot (pg_current_snapshot), and
 * a cursor carries those below its position as pending: the next page reads their rows first, once they
 * have committed. So no page skips an item that commits late, and none repeats one (a pending
 * transaction's rows were invisible to every earlier page).
 *
 * One stream covers the items that existed when its first batch of newer items was read, less those
 * deleted since, with their values as they are when their batch is read: it stops at the last position
 * then (the bound) and leaves out the transactions then running, whose rows are owed to the next page.
 * Without that, a key deleted and written again mid-stream would come twice in one response (it gets a
 * new position).
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
  const after = options.after?.position ?? ORIGIN;
  let pending = options.after?.pending ?? [];
  /** Pending transactions found still running: owed to the next page as they were. */
  const heldBack: PendingRows[] = [];
  let skip = options.offset ?? 0;
  let count = 0;
  let bytes = 0;
  let position = after;
  // Known after the first batch of newer items: the last position then, and the transactions then running.
  let bound: ItemPosition | null = null;
  let running: string[] = [];
  const stop = (hasMore: boolean): StreamEnd => {
    if (!hasMore) return { count, next: null, hasMore, aborted: false };
    const owed = new Map<string, PendingRows>();
    for (const p of [...heldBack, ...pending]) owed.set(p.xid, p);
    for (const x of running) {
      if (!owed.has(x) && BigInt(x) < BigInt(position.xid)) owed.set(x, { xid: x, after: "0" });
    }
    return { count, next: { position, pending: [...owed.values()] }, hasMore, aborted: false };
  };
  /** The next batch's size in rows (one more than needed: a probe) and bytes, or how much is left. */
  const sizes = () => {
    // Once the limit or the byte budget is reached, one more row (a probe) tells whether more items match.
    const remaining = bytes >= maxBytes ? 0 : limit === undefined ? Infinity : limit - count;
    const budget =
      remaining === 0 ? 1 : Math.min(options.batchBytes ?? DEFAULT_BATCH_BYTES, maxBytes - bytes);
    // The rows the byte budget is likely to let through, from the values' average size so far (twice
    // that, at least 2): a statement over large values reads a few rows, not a thousand to send two
    // (embedded, 500 KB values streamed at 9.5 MB/s against 282 MB/s read directly).
    const fit = count > 0 && bytes > 0 ? Math.max(2, Math.ceil((2 * budget * count) / bytes)) : Infinity;
    const take = Math.min(options.batchSize, fit, remaining + 1);
    return { remaining, take, budget };
  };
  const columns = Prisma.sql`${Prisma.raw(shieldedText("key"))} AS key, ${options.keysOnly ? Prisma.sql`''` : Prisma.sql`value`} AS value,
            ${isoUtc("created")} AS created, ${isoUtc("updated")} AS updated, ins_xid AS nx, seq AS ns, seq::text AS seq,
            ins_xid::text AS ins, version::text AS version, ${isoUtc("expires")} AS expires,
            ${options.keysOnly ? Prisma.sql`octet_length(key)` : Prisma.sql`octet_length(value)`} AS len${
              options.wire ? Prisma.sql`, ${itemWireSql(options.keysOnly)} AS wire` : Prisma.empty
            }`;
  // `run` is the value bytes up to and including the row: a row is sent while the bytes before it are
  // under the budget, so the first row always is. octet_length reads a stored value's size without
  // decompressing it, and rows past the budget are never sent.
  const budgeted = (page: Prisma.Sql, budget: number) => Prisma.sql`
      SELECT ${options.wire ? Prisma.sql`key, wire` : Prisma.sql`key, value, created, updated, version, expires`}, seq, ins, nx, ns, run::text AS run FROM (
        SELECT page.*, sum(page.len) OVER (ORDER BY page.nx, page.ns ROWS UNBOUNDED PRECEDING) AS run
        FROM (${page}) AS page) AS counted
      WHERE counted.run - counted.len < ${budget}::bigint`;
  const take1 = (rows: StreamRow[], remaining: number, budget: number) => {
    const cut = rows.length > 0 && Number(rows[rows.length - 1]!.run) >= budget;
    const hasMore = rows.length > remaining;
    // The rows are ItemRows (their extra columns ride along unread).
    const batch: StreamRow[] = hasMore ? rows.slice(0, remaining) : rows;
    if (batch.length > 0) {
      count += batch.length;
      bytes += Number(rows[batch.length - 1]!.run);
    }
    return { cut, hasMore, batch };
  };

  // The pending rows first: they are below every newer position.
  while (pending.length > 0) {
    if (signal?.aborted) return { count, next: null, hasMore: false, aborted: true };
    const { remaining, take, budget } = sizes();
    const found = await sql.query<StreamRow & { running: string }>(Prisma.sql`
      SELECT m.running, c.* FROM (
        SELECT ${runningXidsSql} AS running) AS m
      LEFT JOIN LATERAL (${budgeted(
        Prisma.sql`
          SELECT r.* FROM json_array_elements(${JSON.stringify(pending.map((p) => [p.xid, p.after]))}::json) AS p(e)
          CROSS JOIN LATERAL (
            SELECT ${columns} FROM items
            WHERE ${where} AND ins_xid = (p.e->>0)::bigint AND seq > (p.e->>1)::bigint
            ORDER BY items.seq LIMIT ${take}) AS r
          ORDER BY r.nx, r.ns LIMIT ${take}`,
        budget,
      )}) AS c ON true
      ORDER BY c.nx, c.ns`);
    const stillRunning = new Set(JSON.parse(found[0]!.running) as string[]);
    const rows = found.filter((r) => r.key !== null);
    const { cut, hasMore, batch } = take1(rows, remaining, budget);
    if (batch.length > 0) yield batch;
    if (!hasMore && !cut && rows.length < take) {
      // Every committed pending row has been read; the running transactions stay owed.
      heldBack.push(...pending.filter((p) => stillRunning.has(p.xid)));
      pending = [];
      break;
    }
    const last = batch[batch.length - 1];
    if (last !== undefined) {
      const lastXid = BigInt(last.ins);
      pending = pending.flatMap((p) => {
        const x = BigInt(p.xid);
        if (x === lastXid) return [{ xid: p.xid, after: last.seq }];
        return x > lastXid || stillRunning.has(p.xid) ? [p] : [];
      });
    }
    if (hasMore) return stop(true);
  }

  for (;;) {
    if (signal?.aborted) return { count, next: null, hasMore: false, aborted: true };
    const { remaining, take, budget } = sizes();
    // The first batch reads the bound and the running transactions in the same statement (snapshot).
    const first: boolean = bound === null;
    const upTo: Prisma.Sql = first
      ? Prisma.sql`(SELECT ins_xid, seq FROM items WHERE collection_id = ${collectionOf(collectionId)}
                    ORDER BY ins_xid DESC, seq DESC LIMIT 1)`
      : Prisma.sql`(${bound!.xid}::bigint, ${bound!.seq}::bigint)`;
    const rows: (StreamRow & { bound?: string; running?: string })[] = await sql.query(
      Prisma.sql`
      SELECT ${
        // Every column costs the driver a parse per row: a row of `wire` needs only its position.
        options.wire ? Prisma.sql`counted.wire, counted.seq, counted.ins, counted.run` : Prisma.sql`counted.*`
      }${
        first
          ? Prisma.sql`, ${lastPositionSql(collectionId)} AS bound, ${runningXidsSql} AS running`
          : Prisma.empty
      } FROM (${budgeted(
        Prisma.sql`
          SELECT ${columns} FROM items
          WHERE ${where} AND (ins_xid, seq) > (${position.xid}::bigint, ${position.seq}::bigint)
            AND (ins_xid, seq) <= ${upTo}
            ${first ? Prisma.empty : Prisma.sql`AND ins_xid <> ALL(${`{${running.join(",")}}`}::bigint[])`}
          ORDER BY items.ins_xid, items.seq
          LIMIT ${take} OFFSET ${skip}`,
        budget,
      )}) AS counted
      ORDER BY counted.nx, counted.ns`,
      { prepare },
    );
    skip = 0;
    if (first) {
      if (rows.length === 0) return stop(false);
      const [x, s]: string[] = rows[0]!.bound!.split(".");
      bound = { xid: x!, seq: s! };
      running = JSON.parse(rows[0]!.running!) as string[];
    }
    const { cut, hasMore, batch } = take1(rows, remaining, budget);
    if (batch.length > 0) {
      const last = batch[batch.length - 1]!;
      position = { xid: last.ins, seq: last.seq };
      yield batch;
    }
    if (hasMore) return stop(true);
    if (!cut && rows.length < take) return stop(false);
  }
}

/**
 * An item's JSON text as written by GET /collections/{name} (itemJsonPieces without `_meta`), or with
 * `keysOnly` its key's JSON string, built by the database from the columns of `items`: the driver then
 * reads one text per row instead of one per column, and the writer joins them as they are (bench: stream).
 * PostgreSQL's to_json escapes a text as JSON.stringify does (`"`, `\`, control characters; lowercase
 * \u00xx), so keys come out byte for byte alike; the value is the stored text. The text starts with `{"`
 * or `"`, never with U+FEFF, so it needs no shielding from PGlite's decoder (shieldedText).
 */
export function itemWireSql(keysOnly = false): Prisma.Sql {
  if (keysOnly) return Prisma.raw(`to_json(key)::text`);
  const iso = (c: string) => `to_char("${c}" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  return Prisma.raw(
    `'{"key":' || to_json(key)::text || ',"value":' || value || ',"created":"' || ${iso("created")} || ` +
      `'","updated":"' || ${iso("updated")} || '","version":' || version::text || '}'`,
  );
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
 * The CTE `held` that takes a write's locks: the existing rows of `rows` (a query with a column `k`) in
 * key order, tombstones included, the one order every writer uses. It has the columns of `rows` (carried
 * along, so that no join of two CTEs is needed after: the planner has no statistics for them and plans
 * such a join as nested loops, a million key comparisons for a thousand items), whether the key's row
 * exists, and its live version (null when absent or not live).
 */
function lockCtes(collectionId: string, rows: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`held AS MATERIALIZED (
           SELECT s.*, e.present, CASE WHEN e.live THEN e.version END AS live_version
           FROM (SELECT * FROM (${rows}) AS given ORDER BY k COLLATE "C") AS s
           LEFT JOIN LATERAL (
             SELECT true AS present, i.version, ${liveSql("i")} AS live FROM items i
             WHERE i.collection_id = ${collectionOf(collectionId)} AND i.key = s.k
             FOR NO KEY UPDATE) AS e ON true)`;
}

/**
 * One statement for at most UPSERT_CHUNK items (`base`: the index of its first item in the request).
 *
 * The keys that exist are locked first, in key order (so that concurrent writers of overlapping keys
 * cannot deadlock each other, and a concurrent delete cannot make one of them new again); new keys are
 * inserted in key order too, for the same reason (an insert waits for a concurrent insert of the same
 * key). Writers of new keys take no lock in common: a key that gets a position (absent, or a tombstone
 * or expired) gets this transaction's id as its ins_xid and a sequence number drawn in the request's
 * order, and readers that pass a running transaction's position come back for it (streamItems). The
 * timestamp and the transaction id are read after the locks.
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
/**
 * upsertChunk for items without conditions (the common write): no lookup first. Rows are inserted in key
 * order, and ON CONFLICT locks each existing row as it reaches it, so writers still lock in key order
 * (no deadlock); whether an item is new is read from the written row (its `created` is this request's).
 * A new key's version and sequence number are drawn in the request's order; an existing key's version is
 * drawn in the update, after its row lock, so that per key versions follow commit order (SPEC §9.3).
 */
async function upsertPlainChunk(
  sql: Sql,
  collectionId: string,
  items: NewItem[],
  options: UpsertOptions,
): Promise<UpsertOutcome> {
  const [row] = await sql.query<{
    ts: string;
    total: number;
    created: number;
    rows: string | null;
  }>(Prisma.sql`
    WITH stamp AS MATERIALIZED (
           SELECT coalesce(${options.timestamp ?? null}::timestamptz, clock_timestamp()) AS ts, ${currentXid} AS xid,
                  (SELECT default_ttl_seconds FROM collections WHERE id = ${collectionId}::uuid) AS default_ttl),
         numbered AS MATERIALIZED (
           SELECT array(SELECT n FROM (SELECT nextval('item_versions') AS n FROM generate_series(1, ${items.length}::int)) AS drawn ORDER BY n) AS versions,
                  array(SELECT n FROM (SELECT nextval('items_seq_seq') AS n
                                       FROM generate_series(1, ${items.length}::int)) AS drawn ORDER BY n) AS seqs
           FROM stamp),
         written AS (
           INSERT INTO items AS i (collection_id, key, value, created, updated, version, xid, ins_xid, seq, expires)
           SELECT ${collectionId}::uuid, t.k, t.v, stamp.ts, stamp.ts, numbered.versions[t.ord], stamp.xid, stamp.xid,
                  numbered.seqs[t.ord], stamp.ts + stamp.default_ttl * interval '1 second'
           FROM ${inputRows(items)} CROSS JOIN stamp CROSS JOIN numbered
           ORDER BY t.k COLLATE "C"
           ON CONFLICT (collection_id, key) DO UPDATE
             SET value = EXCLUDED.value, updated = EXCLUDED.updated, version = nextval('item_versions'),
                 xid = greatest(i.xid, EXCLUDED.xid), expires = EXCLUDED.expires,
                 created = CASE WHEN ${liveSql("i")} THEN i.created ELSE EXCLUDED.created END,
                 ins_xid = CASE WHEN ${liveSql("i")} THEN i.ins_xid ELSE EXCLUDED.ins_xid END,
                 seq = CASE WHEN ${liveSql("i")} THEN i.seq ELSE EXCLUDED.seq END
           RETURNING i.key, i.value, i.version, i.xid, i.created, i.updated, i.expires),
         logged AS (
           INSERT INTO item_changes (collection_id, xid, version, key, kind, value, at)
           SELECT ${collectionId}::uuid, w.xid, w.version, w.key, 'put', w.value, w.updated
           FROM written w)
    SELECT ${utcText("stamp.ts")} AS ts, counts.total, counts.created,
           ${
             options.rows
               ? Prisma.sql`(SELECT json_agg(json_build_array(w.key, w.version::text, ${utcText("w.created")}, ${utcText("w.updated")},
                   ${utcText("w.expires")}, w.created = stamp.ts)) FROM written w)::text`
               : Prisma.sql`NULL::text`
           } AS rows
    FROM stamp, (SELECT count(*)::int AS total, (count(*) FILTER (WHERE w.created = (SELECT ts FROM stamp)))::int AS created
                 FROM written w) AS counts`);
  const outcome: UpsertOutcome = {
    written: row!.total,
    created: row!.created,
    timestamp: row!.ts,
    failed: [],
  };
  if (options.rows) {
    // A single item (PUT) asks for its row: the order of several would be key order, not the request's.
    const byKey = new Map(
      (JSON.parse(row!.rows ?? "[]") as [string, string, string, string, string | null, boolean][]).map(
        ([key, version, created, updated, expires, isNew]) =>
          [key, { key, version, created, updated, expires, isNew }] as const,
      ),
    );
    outcome.rows = items.map((it) => byKey.get(it.key)!);
  }
  return outcome;
}

async function upsertChunk(
  sql: Sql,
  collectionId: string,
  items: NewItem[],
  base: number,
  options: UpsertOptions,
): Promise<UpsertOutcome> {
  if (!hasConditions(items)) return upsertPlainChunk(sql, collectionId, items, options);
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
           FROM (SELECT count(*) FROM held) AS after_locks),
         -- Numbers drawn after the locks, sorted, so that the n-th item of the request gets the n-th: its
         -- version, and its sequence number when it gets a new position. Items are then inserted in key
         -- order (no deadlock between writers), yet versions and places follow the request's order.
         numbered AS MATERIALIZED (
           SELECT array(SELECT n FROM (SELECT nextval('item_versions') AS n FROM held) AS drawn ORDER BY n) AS versions,
                  array(SELECT n FROM (SELECT nextval('items_seq_seq') AS n
                                       FROM held WHERE live_version IS NULL) AS drawn ORDER BY n) AS seqs
           FROM stamp),
         decided AS MATERIALIZED (
           SELECT h.k, h.v, h.ord, h.present, h.live_version,
                  (SELECT versions FROM numbered)[row_number() OVER (ORDER BY h.ord)] AS new_version,
                  CASE WHEN h.live_version IS NULL
                       THEN (SELECT seqs FROM numbered)[row_number() OVER (PARTITION BY h.live_version IS NULL ORDER BY h.ord)]
                       ELSE 0 END AS new_seq,
                  CASE WHEN h.ifa THEN h.live_version IS NULL
                       WHEN h.ifv IS NOT NULL THEN h.live_version IS NOT DISTINCT FROM h.ifv
                       ELSE true END AS ok,
                  CASE WHEN h.ttl IS NOT NULL THEN stamp.ts + h.ttl * interval '1 second'
                       WHEN h.exp IS NOT NULL THEN h.exp
                       ELSE stamp.ts + stamp.default_ttl * interval '1 second' END AS expires
           FROM held h CROSS JOIN stamp),
         written AS (
           INSERT INTO items AS i (collection_id, key, value, created, updated, version, xid, ins_xid, seq, expires)
           SELECT ${collectionId}::uuid, d.k, d.v, stamp.ts, stamp.ts, d.new_version, stamp.xid, stamp.xid,
                  d.new_seq, d.expires
           FROM decided d CROSS JOIN stamp
           WHERE d.ok
           ORDER BY d.k COLLATE "C"
           ON CONFLICT (collection_id, key) DO UPDATE
             SET value = EXCLUDED.value, updated = EXCLUDED.updated, version = EXCLUDED.version,
                 xid = greatest(i.xid, EXCLUDED.xid), expires = EXCLUDED.expires,
                 created = CASE WHEN ${liveSql("i")} THEN i.created ELSE EXCLUDED.created END,
                 ins_xid = CASE WHEN ${liveSql("i")} THEN i.ins_xid ELSE EXCLUDED.ins_xid END,
                 -- A key found live that expired since keeps no number of its own (0): it draws one now.
                 seq = CASE WHEN ${liveSql("i")} THEN i.seq
                            WHEN EXCLUDED.seq > 0 THEN EXCLUDED.seq
                            ELSE nextval('items_seq_seq') END
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
 * The items written inside the caller's transaction `tx` (any number): the locks of every existing item
 * first, in the same order as upsertChunk takes them (key order), so that the two never wait on each
 * other in a cycle, then a statement per chunk. May
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
      SELECT ${utcText("clock_timestamp()")} AS ts FROM (SELECT count(*) FROM held) AS after_locks`);
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
 * The CTEs `stamp` and `gone` of a deletion: the rows of `held` (a CTE of their collection_id and key,
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
      WHERE i.collection_id = held.collection_id AND i.key = held.key AND i.value IS NOT NULL
        ${kind === "delete" ? Prisma.sql`AND ${liveSql("i")}` : Prisma.sql`AND NOT ${liveSql("i")}`}
      RETURNING i.collection_id, i.key, i.ins_xid, i.seq, i.version, i.xid, stamp.ts),
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
  // The last position when the call starts: items written after it (or by transactions then running,
  // which are below it only when they began earlier) are left alone.
  const [{ max }] = (await sql.query<{ max: string }>(Prisma.sql`
    SELECT coalesce(${lastPositionSql(collectionId)}, '0.0') AS max`)) as [{ max: string }];
  const [maxXid, maxSeq] = max.split(".") as [string, string];
  let count = 0;
  let after = ["0", "0"];
  for (;;) {
    if (options.signal?.aborted) return { count, aborted: true };
    const [batch] = await retryConflicts(() =>
      sql.query<{ picked: number; last: string | null; deleted: string }>(Prisma.sql`
        WITH picked AS MATERIALIZED (
               SELECT key, ins_xid, seq FROM items
               WHERE ${where} AND (ins_xid, seq) > (${after[0]}::bigint, ${after[1]}::bigint)
                 AND (ins_xid, seq) <= (${maxXid}::bigint, ${maxSeq}::bigint)
               ORDER BY ins_xid, seq LIMIT ${options.batchSize}),
             held AS MATERIALIZED (
               SELECT collection_id, key FROM items
               WHERE collection_id = ${collectionOf(collectionId)} AND key IN (SELECT key FROM picked)
               ORDER BY key COLLATE "C" FOR NO KEY UPDATE),
             ${tombstoneCtes("delete")}
        SELECT (SELECT count(*) FROM picked)::int AS picked,
               (SELECT ins_xid || '.' || seq FROM picked ORDER BY ins_xid DESC, seq DESC LIMIT 1) AS last,
               (SELECT coalesce(json_agg(key ORDER BY ins_xid, seq), '[]'::json) FROM gone)::text AS deleted`),
    );
    const keys = JSON.parse(batch!.deleted) as string[];
    if (keys.length > 0) {
      count += keys.length;
      yield keys;
    }
    if (batch!.picked < options.batchSize || batch!.last === null) return { count, aborted: false };
    after = batch!.last.split(".");
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
  return { count: row ? 1 : 0, next: null, hasMore: false, aborted: false };
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
             SELECT collection_id, key, version FROM items
             WHERE collection_id = ${collectionOf(collectionId)} AND key = ${key} AND ${liveSql()}
             FOR NO KEY UPDATE),
           held AS MATERIALIZED (
             SELECT collection_id, key FROM cur
             WHERE ${ifVersion ?? null}::bigint IS NULL OR cur.version = ${ifVersion ?? null}::bigint),
           ${tombstoneCtes("delete")}
      SELECT (SELECT version::text FROM cur) AS current, (SELECT count(*) FROM gone)::int AS deleted`,
      { prepare: true },
    );
    return { deleted: row!.deleted > 0, current: row!.current };
  });
}

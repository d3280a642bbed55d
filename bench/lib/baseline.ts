import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { PGlite } from "@electric-sql/pglite";

// The raw baselines of the streamed reads, run at their best (issue 13): the same rows read in the
// service's order straight from the items index, and unordered (whatever scan the planner likes best),
// each with its plan (EXPLAIN), and the faster of the two taken. Where the planner sorts for the ordered
// read, the ordered read is also run with sorting off (enable_sort), which forces the index order.

/**
 * The service's item order (server/services/items.ts), the one place the baselines spell it: items are
 * ordered by inserting transaction, then sequence number (index items (collection_id, ins_xid, seq)).
 */
export const INSERTION_ORDER = "ins_xid, seq";
/** The order before the column items.ins_xid existed (index items (collection_id, seq)). */
const INSERTION_ORDER_WITHOUT_INS_XID = "seq";

/** Something that runs SQL and gives rows back: a pg pool or client, or PGlite. */
export interface RowSource {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

const orders = new WeakMap<object, Promise<string>>();

/**
 * The ORDER BY list of the ordered baseline on this database: INSERTION_ORDER, or `seq` where items has
 * no column ins_xid yet (information_schema, asked once per database handle).
 */
export function insertionOrder(db: RowSource): Promise<string> {
  let order = orders.get(db);
  if (!order) {
    order = db
      .query(
        `SELECT count(*)::int AS n FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'items' AND column_name = 'ins_xid'`,
      )
      .then((r) => ((r.rows[0] as { n: number }).n > 0 ? INSERTION_ORDER : INSERTION_ORDER_WITHOUT_INS_XID));
    orders.set(db, order);
  }
  return order;
}

export interface PlanSummary {
  /** The plan's top node, e.g. "Index Scan using items_collection_id_ins_xid_seq_key" or "Sort". */
  top: string;
  /** Whether any node of the plan sorts. */
  sorted: boolean;
}

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
}

const describeNode = (n: PlanNode) =>
  `${n["Node Type"]}${n["Index Name"] ? ` using ${n["Index Name"]}` : n["Relation Name"] ? ` on ${n["Relation Name"]}` : ""}`;

/** EXPLAIN (FORMAT JSON) of a SELECT: its top node, and whether it sorts anywhere. */
export async function planOf(db: RowSource, select: string): Promise<PlanSummary> {
  const r = await db.query(`EXPLAIN (FORMAT JSON) ${select}`);
  const cell = Object.values(r.rows[0] as Record<string, unknown>)[0];
  const plan = (typeof cell === "string" ? JSON.parse(cell) : cell) as { Plan: PlanNode }[];
  const root = plan[0]!.Plan;
  let sorted = false;
  const walk = (n: PlanNode) => {
    if (/Sort/.test(n["Node Type"])) sorted = true;
    n.Plans?.forEach(walk);
  };
  walk(root);
  // A Limit or Result on top says little: name what it reads from.
  let shown = root;
  while ((shown["Node Type"] === "Result" || shown["Node Type"] === "Limit") && shown.Plans?.length)
    shown = shown.Plans[0]!;
  return { top: describeNode(shown), sorted };
}

/** One read of a baseline, to the end. */
export interface BaselineRead {
  bytes: number;
  rows: number;
  totalMs: number;
  firstByteMs: number;
}

/** How one baseline reads a SELECT to the end (COPY through pg, or PGlite in-process). */
export interface BaselineReader {
  /** Runs `select` (with enable_sort off if asked) to the end. */
  read(select: string, sortOff: boolean): Promise<BaselineRead>;
  /** Its plan under the same settings. */
  explain(select: string, sortOff: boolean): Promise<PlanSummary>;
  /** The order INSERTION_ORDER falls back to on this database. */
  order(): Promise<string>;
}

export interface VariantFigures extends PlanSummary {
  variant: "ordered" | "ordered, enable_sort off" | "unordered";
  mbPerSec: number;
  seconds: number;
  firstByteMs: number;
  /** The ORDER BY list, or "" for the unordered read. */
  orderBy: string;
}

export interface BestBaseline {
  read: BaselineRead;
  /** The variant taken (the fastest), and every variant's best run. */
  chosen: VariantFigures;
  variants: VariantFigures[];
}

/**
 * The faster of the ordered and the unordered read of `select(orderBy)` (orderBy "" = no ORDER BY), each
 * run `repeats` times in turn and its best run kept.
 */
export async function bestBaseline(
  reader: BaselineReader,
  select: (orderBy: string) => string,
  expectedRows: number,
  repeats: number,
): Promise<BestBaseline> {
  const order = await reader.order();
  const candidates: { variant: VariantFigures["variant"]; orderBy: string; sortOff: boolean }[] = [
    { variant: "ordered", orderBy: order, sortOff: false },
    { variant: "unordered", orderBy: "", sortOff: false },
  ];
  const ordered = await reader.explain(select(order), false);
  if (ordered.sorted) candidates.push({ variant: "ordered, enable_sort off", orderBy: order, sortOff: true });
  const best = new Map<string, { read: BaselineRead; plan: PlanSummary }>();
  for (let run = 0; run < repeats; run++)
    for (const c of candidates) {
      const read = await reader.read(select(c.orderBy), c.sortOff);
      if (read.rows !== expectedRows)
        throw new Error(`baseline (${c.variant}) read ${read.rows} rows, expected ${expectedRows}`);
      const prior = best.get(c.variant);
      if (!prior || read.totalMs < prior.read.totalMs)
        best.set(c.variant, {
          read,
          plan:
            prior?.plan ??
            (c.variant === "ordered" ? ordered : await reader.explain(select(c.orderBy), c.sortOff)),
        });
    }
  const variants = candidates.map((c): VariantFigures => {
    const { read, plan } = best.get(c.variant)!;
    return {
      variant: c.variant,
      orderBy: c.orderBy,
      ...plan,
      mbPerSec: read.bytes / 1e6 / (read.totalMs / 1000),
      seconds: read.totalMs / 1000,
      firstByteMs: read.firstByteMs,
    };
  });
  const chosen = variants.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return { read: best.get(chosen.variant)!.read, chosen, variants };
}

/** One line per variant, for the run's log. */
export function describeBaseline(b: BestBaseline): string {
  return b.variants
    .map(
      (v) =>
        `${v === b.chosen ? "*" : " "} ${v.variant}${v.orderBy ? ` (ORDER BY ${v.orderBy})` : ""}: ${v.top}, ${v.sorted ? "SORTS" : "no sort"}; ` +
        `${v.mbPerSec.toFixed(1)} MB/s, first byte ${v.firstByteMs.toFixed(1)} ms`,
    )
    .join("\n");
}

/** The COPY baseline's statement: the stream's columns, as COPY sends them (text format). */
export const copySelect = (collectionId: string) => (orderBy: string) =>
  // collectionId is a UUID read back from the database; COPY takes no parameters.
  `SELECT key, value, created, updated, version FROM items WHERE collection_id = '${collectionId}'${orderBy ? ` ORDER BY ${orderBy}` : ""}`;

/** COPY (SELECT …) TO STDOUT through pg-copy-streams on one connection of the pool: bytes and lines counted. */
export function copyReader(pool: pg.Pool): BaselineReader {
  const withClient = async <T>(sortOff: boolean, work: (c: pg.PoolClient) => Promise<T>) => {
    const client = await pool.connect();
    try {
      if (sortOff) await client.query("SET enable_sort = off");
      return await work(client);
    } finally {
      if (sortOff) await client.query("RESET enable_sort").catch(() => {});
      client.release();
    }
  };
  return {
    order: () => insertionOrder(pool),
    explain: (select, sortOff) => withClient(sortOff, (c) => planOf(c, select)),
    read: (select, sortOff) =>
      withClient(sortOff, async (client) => {
        const started = process.hrtime.bigint();
        const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
        const stream = client.query(copyTo(`COPY (${select}) TO STDOUT`));
        let bytes = 0;
        let rows = 0;
        let firstByteMs = NaN;
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (bytes === 0) firstByteMs = elapsed();
          bytes += chunk.length;
          for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) rows++;
        }
        return { bytes, rows, totalMs: elapsed(), firstByteMs };
      }),
  };
}

/** The service's framings of a streamed read: GET's JSON document (SPEC §3.1) or the NDJSON export (§9.4). */
export type Framing = "document" | "ndjson";

/**
 * The in-process baseline's statement: the columns the service sends, as text (its to_char of the
 * timestamps), so that the baseline's bytes are the service's.
 */
export const documentSelect = (collectionId: string) => (orderBy: string) =>
  `SELECT key, value, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
          to_char(updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), version::text
   FROM items WHERE collection_id = '${collectionId}'${orderBy ? ` ORDER BY ${orderBy}` : ""}`;

/**
 * PGlite queried directly in this process: the rows fetched through a cursor (one transaction,
 * `FETCH n` with n = about 2 MB of values, rows as arrays) and each batch made into the service's bytes
 * (the document's or the export's framing, each item `{"key","value","created","updated","version"}`,
 * the value's stored text as it is), as a Buffer that is then dropped. Timed from the DECLARE to the last
 * Buffer; "first byte" is when the first batch's Buffer exists.
 */
export function pgliteReader(db: PGlite, framing: Framing, valueBytes: number): BaselineReader {
  const fetchRows = Math.max(1, Math.floor((2 * 1024 * 1024) / valueBytes));
  const explain = async (select: string, sortOff: boolean) => {
    if (sortOff) await db.query("SET enable_sort = off");
    try {
      return await planOf(db, select);
    } finally {
      if (sortOff) await db.query("RESET enable_sort");
    }
  };
  return {
    order: () => insertionOrder(db),
    explain,
    read: (select, sortOff) =>
      db.transaction(async (tx) => {
        const started = process.hrtime.bigint();
        const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
        if (sortOff) await tx.query("SET LOCAL enable_sort = off");
        await tx.query(`DECLARE bench_rows NO SCROLL CURSOR FOR ${select}`);
        const itemEnd = framing === "ndjson" ? "}\n" : "}";
        const separator = framing === "ndjson" ? "" : ",";
        let bytes = 0;
        let rows = 0;
        let firstByteMs = NaN;
        for (;;) {
          const batch = await tx.query<[string, string, string, string, string]>(
            `FETCH ${fetchRows} FROM bench_rows`,
            [],
            { rowMode: "array" },
          );
          if (batch.rows.length === 0) break;
          const parts: string[] = [];
          for (const [key, value, created, updated, version] of batch.rows)
            parts.push(
              `{"key":${JSON.stringify(key)},"value":${value},"created":"${created}","updated":"${updated}","version":${version}${itemEnd}`,
            );
          const head = rows === 0 ? (framing === "document" ? '{"results":[' : "") : separator;
          bytes += Buffer.from(head + parts.join(separator)).length;
          if (rows === 0) firstByteMs = elapsed();
          rows += batch.rows.length;
        }
        await tx.query("CLOSE bench_rows");
        const tail =
          framing === "document"
            ? `${rows === 0 ? '{"results":[' : ""}],"end_offset":${rows},"cursor":null}`
            : "";
        bytes += Buffer.from(tail).length;
        return { bytes, rows, totalMs: elapsed(), firstByteMs };
      }),
  };
}

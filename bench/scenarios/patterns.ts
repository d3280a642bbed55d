import http from "node:http";
import type pg from "pg";
import { INSERTION_ORDER, insertionOrder } from "../lib/baseline.js";
import { request } from "../lib/http.js";
import { ms, percentile } from "../lib/stats.js";

// Scenario 3: key patterns on the big collection over HTTP, against the SQL the service runs for them
// (server/services/items.ts streamItems: the first page of a keyset read), run directly through pg.

/**
 * The statement streamItems sends for a pattern, first page (kept in step with server/services/items.ts):
 * in insertion order (ins_xid, seq), bounded by the collection's last position, with the transactions
 * running at the snapshot; before the column ins_xid existed, by seq (INSERTION_ORDER, bench/lib/baseline.ts).
 */
const serviceSql = `
  SELECT key, value, to_char("created" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created,
         to_char("updated" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated, seq::text AS seq,
         ins_xid::text AS ins,
         (SELECT ins_xid || '.' || seq FROM items WHERE collection_id = (SELECT $1::uuid)
          ORDER BY ins_xid DESC, seq DESC LIMIT 1) AS bound,
         (SELECT array_to_json(array(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) AS x))::text) AS running
  FROM items
  WHERE collection_id = (SELECT $1::uuid) AND key LIKE $2 ESCAPE '\\' AND (ins_xid, seq) > (0, $3::bigint)
    AND (ins_xid, seq) <= (SELECT ins_xid, seq FROM items WHERE collection_id = (SELECT $1::uuid)
                           ORDER BY ins_xid DESC, seq DESC LIMIT 1)
  ORDER BY items.ins_xid, items.seq
  LIMIT $4 OFFSET $5`;

const serviceSqlWithoutInsXid = `
  SELECT key, value, to_char("created" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created,
         to_char("updated" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated, seq::text AS seq,
         (SELECT max(seq) FROM items WHERE collection_id = $1::uuid)::text AS bound
  FROM items
  WHERE collection_id = (SELECT $1::uuid) AND key LIKE $2 ESCAPE '\\' AND seq > $3::bigint
    AND seq <= (SELECT max(seq) FROM items WHERE collection_id = $1::uuid)
  ORDER BY items.seq
  LIMIT $4 OFFSET $5`;

export interface PatternKind {
  name: "prefix" | "infix";
  /** The pattern of the n-th request (`*` wildcards) and its LIKE form. */
  pattern(n: number): { pattern: string; like: string };
  limit?: number;
}

/** A small deterministic generator, so that both sides see the same patterns. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

export function patternKinds(items: number): PatternKind[] {
  const prefixes = Math.floor(items / 100);
  return [
    {
      name: "prefix",
      pattern(n) {
        const p = 1 + Math.floor(lcg(n + 1)() * (prefixes - 1));
        const prefix = `key-${String(p).padStart(5, "0")}`;
        return { pattern: `${prefix}*`, like: `${prefix}%` };
      },
    },
    {
      name: "infix",
      limit: 100,
      pattern(n) {
        const hex = Math.floor(lcg(n + 7)() * 4096)
          .toString(16)
          .padStart(3, "0");
        return { pattern: `*${hex}*`, like: `%${hex}%` };
      },
    },
  ];
}

export interface PatternFigures {
  kind: string;
  requests: number;
  /** Items per answer, first request. */
  firstResultCount: number;
  http: { p50: number; p99: number };
  sql: { p50: number; p99: number };
  plan: string;
  indexes: string[];
}

const sqlParams = (collectionId: string, like: string, limit?: number) => [
  collectionId,
  like,
  "0",
  limit === undefined ? 1000 : limit + 1,
  0,
];

export async function runPatterns(
  pool: pg.Pool,
  baseUrl: string,
  token: string,
  collection: string,
  collectionId: string,
  kind: PatternKind,
  requests: number,
): Promise<PatternFigures> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const client = await pool.connect();
  const statement = (await insertionOrder(pool)) === INSERTION_ORDER ? serviceSql : serviceSqlWithoutInsXid;
  const headers = { authorization: `Bearer ${token}` };
  const httpMs: number[] = [];
  const sqlMs: number[] = [];
  let firstResultCount = -1;
  try {
    const warmup = Math.min(20, requests);
    for (let n = -warmup; n < requests; n++) {
      const { pattern, like } = kind.pattern(Math.abs(n) + (n < 0 ? 100_000 : 0));
      let t = process.hrtime.bigint();
      const rows = await client.query(statement, sqlParams(collectionId, like, kind.limit));
      const sqlTook = ms(t);
      const query = kind.limit ? `?limit=${kind.limit}` : "";
      t = process.hrtime.bigint();
      const answer = await request(
        agent,
        `${baseUrl}/collections/${collection}/${encodeURIComponent(pattern)}${query}`,
        "GET",
        headers,
      );
      const httpTook = ms(t);
      if (answer.status !== 200)
        throw new Error(`pattern ${pattern} answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      const results = (JSON.parse(answer.body) as { results: unknown[] }).results.length;
      const expected = Math.min(rows.rowCount ?? 0, kind.limit ?? Infinity);
      if (results !== expected)
        throw new Error(`pattern ${pattern}: ${results} items over HTTP, ${expected} through SQL`);
      if (n < 0) continue;
      if (firstResultCount < 0) firstResultCount = results;
      sqlMs.push(sqlTook);
      httpMs.push(httpTook);
    }
    const { like } = kind.pattern(0);
    const explained = await client.query<{ "QUERY PLAN": string }>(
      `EXPLAIN (ANALYZE, COSTS OFF) ${statement}`,
      sqlParams(collectionId, like, kind.limit),
    );
    const plan = explained.rows.map((r) => r["QUERY PLAN"]).join("\n");
    const indexes = [
      ...new Set(
        [
          ...plan.matchAll(/(?:Index(?: Only)? Scan(?: Backward)?|Bitmap Index Scan) (?:using |on )(\S+)/g),
        ].map((m) => m[1]!),
      ),
    ];
    return {
      kind: kind.name,
      requests,
      firstResultCount,
      http: { p50: percentile(httpMs, 50), p99: percentile(httpMs, 99) },
      sql: { p50: percentile(sqlMs, 50), p99: percentile(sqlMs, 99) },
      plan: `-- ${kind.name} pattern ${kind.pattern(0).pattern}${kind.limit ? ` limit ${kind.limit}` : ""}\n${plan}`,
      indexes,
    };
  } finally {
    client.release();
    agent.destroy();
  }
}

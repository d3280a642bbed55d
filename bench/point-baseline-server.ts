import http from "node:http";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import type { Prisma } from "../server/generated/prisma/client.js";
import { pgliteSql } from "../server/sql.js";
import { INSERTION_ORDER, insertionOrder } from "./lib/baseline.js";

// The hand-written baseline of scenario 4: node:http + pg and nothing else. It answers
// GET /collections/{name}/{key} with the item query of server/services/items.ts streamItems for an exact
// key and the same JSON document, without authentication. The service answers a plain point read with
// its token check's statement, which reads the item too (server/auth/user-tokens.ts): one statement each.
// Started by bench/run.ts like the service (node --import tsx, PORT=0, a "listening" line on stdout).
// Embedded mode (BENCH_PGLITE_DIR, the benchmark's own PGlite data directory, bench/lib/pglite-baseline.ts):
// the same query on PGlite opened in this process, no socket in between. Both prepare the statement once,
// as the service does its point read's.

const collections = new Map(
  Object.entries(JSON.parse(process.env.BENCH_COLLECTIONS ?? "{}") as Record<string, string>),
);
const max = Number(process.env.DB_POOL_SIZE ?? 10);
const pgliteDir = process.env.BENCH_PGLITE_DIR;
const pglite = pgliteDir
  ? await PGlite.create({ dataDir: `${pgliteDir}/pgdata`, extensions: { pg_trgm } })
  : undefined;
const pool = pglite
  ? undefined
  : process.env.BENCH_PG_URL
    ? new pg.Pool({ connectionString: process.env.BENCH_PG_URL, max })
    : new pg.Pool({ host: process.env.BENCH_PG_HOST, user: "postgres", database: "postgres", max });
const db = (pglite ?? pool)!;
// PGlite queried as the service queries it: its statement prepared once on the session (server/sql.ts).
const liteSql = pglite && pgliteSql(pglite);

// The service's order (INSERTION_ORDER, or seq before the column ins_xid existed).
const order = (await insertionOrder(db)) === INSERTION_ORDER ? "items.ins_xid, items.seq" : "items.seq";
const sql = `
  SELECT key, value, to_char("created" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created,
         to_char("updated" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated, seq::text AS seq,
         version::text AS version
  FROM items
  WHERE collection_id = $1::uuid AND key = $2 AND seq > $3::bigint
  ORDER BY ${order}
  LIMIT $4 OFFSET $5`;

interface Row {
  key: string;
  value: string;
  created: string;
  updated: string;
  version: string;
}

const itemJson = (r: Row) =>
  `{"key":${JSON.stringify(r.key)},"value":${r.value},"created":"${r.created}","updated":"${r.updated}","version":${r.version}}`;

const server = http.createServer(async (req, res) => {
  try {
    const m = /^\/collections\/([^/]+)\/(.+)$/s.exec(new URL(req.url ?? "/", "http://x").pathname);
    const id = m && collections.get(decodeURIComponent(m[1]!));
    if (req.method !== "GET" || !m || !id) {
      res.writeHead(404).end();
      return;
    }
    const params = [id, decodeURIComponent(m[2]!), "0", 1000, 0];
    // At its best, like the service: prepared once (pg: a named statement per connection).
    const rows = pglite
      ? await liteSql!.query<Row>({ text: sql, values: params } as unknown as Prisma.Sql, { prepare: true })
      : (await pool!.query<Row>({ name: "point", text: sql, values: params })).rows;
    const body = `{"results":[${rows.map(itemJson).join(",")}],"end_offset":${rows.length},"cursor":null}`;
    res
      .writeHead(200, {
        "content-type": "application/json; charset=utf-8",
        "content-length": Buffer.byteLength(body),
      })
      .end(body);
  } catch (e) {
    res.writeHead(500).end(String(e));
  }
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  console.log(JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}` }));
});

process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void (pglite ? pglite.close() : pool!.end()).finally(() => process.exit(0));
});

import { readFileSync } from "node:fs";
import http from "node:http";
import type pg from "pg";
import { itemKeySql } from "../lib/data.js";
import { peakRssDuring } from "../lib/processes.js";

// Issue 13 (Bench): the tRPC streamed procedure `items.stream` read by a deliberately slow consumer, while
// the service's resident memory is watched. The consumer is what httpBatchStreamLink sends (a batched GET
// with `trpc-accept: application/jsonl`), read over node:http and paused so that it takes at most
// `bytesPerSec` from the socket: a server that runs its generator ahead of the socket buffers the rest of
// the collection (its RSS grows with the collection's size); one that honours backpressure stays flat.

export interface TrpcStreamFigures {
  items: number;
  bytes: number;
  seconds: number;
  /** What the consumer actually read per second, MB/s (10^6 bytes). */
  consumerMbPerSec: number;
  /** The service's RSS just before the request, MiB. */
  baselineRssMb: number;
  /** The service's peak RSS during the read, MiB. */
  peakRssMb: number;
  /** peak − baseline, MiB: what the stream cost the service. */
  rssGrowthMb: number;
  peakRssMethod: string;
}

export interface TrpcStreamOptions {
  /** The consumer's reading speed (default 1.5 MB/s). */
  bytesPerSec?: number;
  /**
   * Read slowly for this long at most, then at full speed to the end (default: slowly to the end). A
   * server that runs ahead has buffered the collection long before; this keeps a big run short.
   */
  slowForMs?: number;
}

/** ~`valueBytes` of JSON per item (keys as bench/lib/data.ts): fills a collection for this scenario in SQL. */
export async function fillCollectionWithValues(
  pool: pg.Pool,
  collectionId: string,
  count: number,
  valueBytes = 1024,
): Promise<void> {
  // {"i":<n>,"pad":"<md5 repeated>"}: 32 hex characters per md5.
  const repeats = Math.max(1, Math.round((valueBytes - 24) / 32));
  for (let from = 1; from <= count; from += 50_000) {
    const to = Math.min(count, from + 49_999);
    await pool.query(
      `INSERT INTO items (collection_id, key, value, created, updated)
       SELECT $1::uuid, ${itemKeySql("g.i")}, json_build_object('i', g.i, 'pad', repeat(md5(g.i::text), $4::int))::text, now(), now()
       FROM generate_series($2::int, $3::int) AS g(i) ORDER BY g.i`,
      [collectionId, from, to, repeats],
    );
  }
  await pool.query("ANALYZE items");
}

function rssMb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The idle RSS: the median of 5 samples 50 ms apart. */
async function idleRssMb(pid: number): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < 5; i++) {
    values.push(rssMb(pid));
    await sleep(50);
  }
  return values.sort((a, b) => a - b)[2]!;
}

interface SlowRead {
  status: number;
  bytes: number;
  items: number;
  end?: { end_offset: number; cursor: string | null };
  error?: string;
  totalMs: number;
}

/**
 * GETs `url` as httpBatchStreamLink does and reads the JSON-lines answer at `bytesPerSec` (for
 * `slowForMs`, then at full speed), counting the items of its `{type:"items"}` events.
 */
function readSlowly(url: string, token: string, bytesPerSec: number, slowForMs: number): Promise<SlowRead> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const headers = { authorization: `Bearer ${token}`, "trpc-accept": "application/jsonl" };
    const req = http.get(url, { headers, agent: false }, (res) => {
      let bytes = 0;
      let items = 0;
      let end: SlowRead["end"];
      let error: string | undefined;
      let partial = "";
      const onLine = (line: string) => {
        if (!line.trim()) return;
        // The head line, then [index, status, [[value]]] per yielded event (tRPC's jsonl encoding).
        const parsed = JSON.parse(line) as unknown;
        if (!Array.isArray(parsed)) return;
        const [, status, payload] = parsed as [number, number, unknown];
        const event = (Array.isArray(payload) && Array.isArray(payload[0]) ? payload[0][0] : undefined) as
          { type?: string; results?: unknown[]; end_offset?: number; cursor?: string | null } | undefined;
        if (status === 2) error = JSON.stringify(payload).slice(0, 300); // ASYNC_ITERABLE_STATUS_ERROR
        if (event?.type === "items") items += event.results!.length;
        if (event?.type === "end") end = { end_offset: event.end_offset!, cursor: event.cursor ?? null };
      };
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        bytes += Buffer.byteLength(chunk);
        const lines = (partial + chunk).split("\n");
        partial = lines.pop()!;
        for (const line of lines) onLine(line);
        const elapsed = performance.now() - started;
        if (elapsed < slowForMs) {
          const due = (bytes / bytesPerSec) * 1000 - elapsed;
          if (due > 1) {
            res.pause();
            setTimeout(() => res.resume(), due);
          }
        }
      });
      res.on("end", () => {
        onLine(partial);
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          items,
          end,
          error,
          totalMs: performance.now() - started,
        });
      });
      res.on("error", reject);
      res.on("aborted", () => reject(new Error("response aborted")));
    });
    req.on("error", reject);
  });
}

/**
 * `items.stream` of a whole collection (`limit` = its size) read by a slow consumer; the service's
 * RSS growth during the read. Throws unless every item and the end event arrived.
 */
export async function trpcStreamSlowConsumer(
  baseUrl: string,
  token: string,
  collection: string,
  items: number,
  servicePid: number,
  { bytesPerSec = 1.5e6, slowForMs = Infinity }: TrpcStreamOptions = {},
): Promise<TrpcStreamFigures> {
  const input = encodeURIComponent(JSON.stringify({ 0: { name: collection, limit: items } }));
  const url = `${baseUrl}/trpc/items.stream?batch=1&input=${input}`;
  const baselineRssMb = await idleRssMb(servicePid);
  const { result, peakRssMb, method } = await peakRssDuring(servicePid, () =>
    readSlowly(url, token, bytesPerSec, slowForMs),
  );
  if (result.status !== 200) throw new Error(`items.stream answered ${result.status}`);
  if (result.error) throw new Error(`items.stream failed: ${result.error}`);
  if (result.items !== items || result.end?.end_offset !== items || result.end.cursor !== null)
    throw new Error(
      `items.stream sent ${result.items} items, end ${JSON.stringify(result.end)} (expected ${items}, cursor null)`,
    );
  return {
    items,
    bytes: result.bytes,
    seconds: result.totalMs / 1000,
    consumerMbPerSec: result.bytes / 1e6 / (result.totalMs / 1000),
    baselineRssMb,
    peakRssMb,
    rssGrowthMb: peakRssMb - baselineRssMb,
    peakRssMethod: method,
  };
}

import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { readStream } from "../lib/http.js";
import { peakRssDuring } from "../lib/processes.js";

// Scenario 2: a whole collection streamed by GET and read to the end, against COPY … TO STDOUT of the
// same rows in the same order through pg-copy-streams.

export interface StreamFigures {
  items: number;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  itemsPerSec: number;
  firstByteMs: number;
  /** Service only: peak resident memory of the service process during the read. */
  peakRssMb?: number;
  peakRssMethod?: string;
}

const figures = (items: number, bytes: number, totalMs: number, firstByteMs: number): StreamFigures => ({
  items,
  bytes,
  seconds: totalMs / 1000,
  mbPerSec: bytes / 1e6 / (totalMs / 1000),
  itemsPerSec: items / (totalMs / 1000),
  firstByteMs,
});

export async function streamThroughService(
  baseUrl: string,
  token: string,
  collection: string,
  items: number,
  servicePid: number,
): Promise<StreamFigures> {
  const { result, peakRssMb, method } = await peakRssDuring(servicePid, () =>
    readStream(`${baseUrl}/collections/${collection}`, { authorization: `Bearer ${token}` }),
  );
  if (result.status !== 200) throw new Error(`stream answered ${result.status}`);
  const expectedTail = `"end_offset":${items},"cursor":null}`;
  if (!result.tail.endsWith(expectedTail))
    throw new Error(`stream ended with …${result.tail.slice(-80)} (expected …${expectedTail})`);
  return {
    ...figures(items, result.bytes, result.totalMs, result.firstByteMs),
    peakRssMb,
    peakRssMethod: method,
  };
}

export async function streamThroughCopy(
  pool: pg.Pool,
  collectionId: string,
  items: number,
): Promise<StreamFigures> {
  const client = await pool.connect();
  try {
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    // collectionId is a UUID read back from the database; COPY takes no parameters.
    const stream = client.query(
      copyTo(
        `COPY (SELECT key, value, created, updated FROM items WHERE collection_id = '${collectionId}' ORDER BY seq) TO STDOUT`,
      ),
    );
    let bytes = 0;
    let lines = 0;
    let firstByteMs = NaN;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (bytes === 0) firstByteMs = elapsed();
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    }
    if (lines !== items) throw new Error(`COPY returned ${lines} rows, expected ${items}`);
    return figures(items, bytes, elapsed(), firstByteMs);
  } finally {
    client.release();
  }
}

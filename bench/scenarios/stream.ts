import { bestBaseline, describeBaseline, type BaselineReader, type VariantFigures } from "../lib/baseline.js";
import { readStream } from "../lib/http.js";
import { peakRssDuring } from "../lib/processes.js";

// Scenario 2: a whole collection streamed by GET and read to the end, against the raw read of the same
// rows at its best (bench/lib/baseline.ts): on PostgreSQL COPY … TO STDOUT through pg-copy-streams, for
// the embedded database PGlite queried in this process and made into the same JSON bytes; each in the
// service's order and unordered, the faster taken.

export interface StreamFigures {
  items: number;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  itemsPerSec: number;
  firstByteMs: number;
  /** About how many bytes each value has (bench/lib/data.ts). */
  valueBytes?: number;
  /** Service only: peak resident memory of the service process during the read. */
  peakRssMb?: number;
  peakRssMethod?: string;
  /** Service only: its RSS during the read, [ms, MiB] every ~50 ms. */
  rssTimeline?: [number, number][];
  /** Service only: MB/s of each of its runs (the figures are its fastest run's, peakRssMb its largest). */
  runsMbPerSec?: number[];
  /** Baseline only: the variant taken (the fastest) and each variant's plan and best figures. */
  chosen?: VariantFigures["variant"];
  variants?: VariantFigures[];
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
  const { result, peakRssMb, method, timeline } = await peakRssDuring(
    servicePid,
    () => readStream(`${baseUrl}/collections/${collection}`, { authorization: `Bearer ${token}` }),
    { timelineEveryMs: 50 },
  );
  if (result.status !== 200) throw new Error(`stream answered ${result.status}`);
  const expectedTail = `"end_offset":${items},"cursor":null}`;
  if (!result.tail.endsWith(expectedTail))
    throw new Error(`stream ended with …${result.tail.slice(-80)} (expected …${expectedTail})`);
  return {
    ...figures(items, result.bytes, result.totalMs, result.firstByteMs),
    peakRssMb,
    peakRssMethod: method,
    rssTimeline: timeline,
  };
}

/**
 * The baseline of a streamed read: `reader` (COPY through pg, or PGlite in-process) at its best of
 * ordered and unordered (bench/lib/baseline.ts), each run `repeats` times; logs every variant's plan.
 */
export async function streamBaseline(
  reader: BaselineReader,
  select: (orderBy: string) => string,
  items: number,
  repeats: number,
  log: (text: string) => void,
): Promise<StreamFigures> {
  const best = await bestBaseline(reader, select, items, repeats);
  log(`baseline variants (* = taken):\n${describeBaseline(best)}`);
  return {
    ...figures(items, best.read.bytes, best.read.totalMs, best.read.firstByteMs),
    chosen: best.chosen.variant,
    variants: best.variants,
  };
}

/**
 * The service read `repeats` times, as the baseline is (its best run of each variant): the fastest run's
 * figures, with the largest peak RSS of all runs (and that run's timeline), so that memory is not flattered.
 */
export async function bestServiceRun(
  repeats: number,
  run: () => Promise<StreamFigures>,
): Promise<StreamFigures> {
  const runs: StreamFigures[] = [];
  for (let i = 0; i < Math.max(1, repeats); i++) runs.push(await run());
  const fastest = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const largest = runs.reduce((a, b) => ((b.peakRssMb ?? 0) > (a.peakRssMb ?? 0) ? b : a));
  return {
    ...fastest,
    peakRssMb: largest.peakRssMb,
    peakRssMethod: largest.peakRssMethod,
    rssTimeline: largest.rssTimeline,
    runsMbPerSec: runs.map((r) => r.mbPerSec),
  };
}

import autocannon from "autocannon";
import { itemKey } from "../lib/data.js";
import { cpuMs, machineCpuMs, writeCalls } from "../lib/processes.js";

// Scenario 4: single-key GETs with 32 concurrent connections (autocannon as a library), against the
// hand-written node:http + pg server (bench/point-baseline-server.ts) answering the same requests.

export interface PointFigures {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** CPU time of the answering process per request (ms), from /proc: where the time goes. */
  cpuMsPerRequest: number;
  /** Write system calls of the answering process per request (socket writes to the client and the database, logs). */
  writesPerRequest: number;
  /** CPU time of the whole machine per request (ms): the answering process, PostgreSQL and the load generator. */
  machineCpuMsPerRequest: number;
}

/**
 * One bearer token per connection (like 32 jobs each with its own token), so that the service's
 * per-token limit of concurrent streamed answers (MAX_STREAMS_PER_TOKEN) is not what is measured.
 */
export async function pointReads(
  baseUrl: string,
  pid: number,
  tokens: string[],
  collection: string,
  items: number,
  seconds: number,
): Promise<PointFigures> {
  // A fixed pseudo-random walk over the collection's keys, the same for both servers.
  const paths = Array.from(
    { length: 5000 },
    (_, n) => `/collections/${collection}/${itemKey(1 + ((n * 7919 + 13) % items))}`,
  );
  let next = 0;
  let nextToken = 0;
  const cpuBefore = cpuMs(pid);
  const machineBefore = machineCpuMs();
  const writesBefore = writeCalls(pid);
  const result = await autocannon({
    url: baseUrl,
    connections: 32,
    duration: seconds,
    requests: [
      {
        method: "GET",
        setupRequest: (req, context) => {
          context.authorization ??= `Bearer ${tokens[nextToken++ % tokens.length]}`;
          return {
            ...req,
            path: paths[next++ % paths.length]!,
            headers: { authorization: context.authorization },
          };
        },
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `point reads on ${baseUrl}: ${result.non2xx} non-2xx answers (${JSON.stringify(result.statusCodeStats)}), ${result.errors} errors`,
    );
  }
  return {
    requestsPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuMsPerRequest: (cpuMs(pid) - cpuBefore) / Math.max(1, result.requests.total),
    writesPerRequest: (writeCalls(pid) - writesBefore) / Math.max(1, result.requests.total),
    machineCpuMsPerRequest: (machineCpuMs() - machineBefore) / Math.max(1, result.requests.total),
  };
}

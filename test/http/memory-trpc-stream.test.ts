import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import {
  createMemoryTenant,
  dropMemoryTenant,
  getCounted,
  measureRss,
  MiB,
  startMeasuredServer,
  stopServer,
  type MemoryTenant,
} from "../support/memory.js";

// Issue 13 (Bench: the tRPC streamed procedure's memory under a slow consumer). items.stream of 20,000
// items of ~1 KB read through tRPC's JSON-lines answer (what httpBatchStreamLink sends) by a reader
// taking 4 MiB/s. The generator does not run ahead of the socket (a stalled reader leaves the server at
// ~9,000 items read: bench/experiments/trpc-stream-stall.ts), but each `{type:"items"}` event was a
// whole database batch (STREAM_BATCH_BYTES, 1 MiB): one 1 MiB JSON line per event, encoded again to
// bytes. One reader made the service's RSS jump by +158 MiB (PostgreSQL) / +166 MiB (embedded) here, and
// +195…282 MiB for 20k or 200k items alike in bench/experiments/trpc-stream-check.ts; with events of at
// most 64 K characters (server/routers/items.ts), +13 / +29 MiB.

const dataDir = freshDataDir();
const tag = randomUUID().slice(0, 8);
const NAME = "kb";
const ITEMS = 20_000;
/** What one slow items.stream reader of ~22 MB may cost the service, at most. */
const MAX_GROWTH_MIB = 64;

type Server = Awaited<ReturnType<typeof startMeasuredServer>>;
let server: Server | undefined;
let tenant: MemoryTenant;

beforeAll(async () => {
  server = await startMeasuredServer({ DATA_DIR: dataDir });
  try {
    tenant = await createMemoryTenant(dataDir, tag, server.url, [NAME]);
    for (let start = 0; start < ITEMS; start += 1000) {
      const items = Array.from({ length: 1000 }, (_, j) => {
        const key = `k${String(start + j).padStart(5, "0")}`;
        return { key, value: JSON.stringify({ key, pad: "p".repeat(1000) }) };
      });
      const res = await fetch(`${server.url}/collections/${NAME}`, {
        method: "POST",
        headers: { ...tenant.headers, "content-type": "application/json" },
        body: JSON.stringify({ items }),
      });
      expect(res.status, await res.text()).toBeLessThan(300);
    }
  } finally {
    await stopServer(server);
    server = undefined;
  }
}, 600_000);

afterEach(async () => {
  await stopServer(server);
  server = undefined;
});

afterAll(async () => {
  await stopServer(server);
  rmSync(dataDir, { recursive: true, force: true });
  await dropMemoryTenant(tag);
}, 120_000);

/** items.stream as httpBatchStreamLink asks for it: a batched GET answered in JSON lines. */
const streamPath = (input: unknown) =>
  `/trpc/items.stream?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: input }))}`;
const jsonl = { "trpc-accept": "application/jsonl" };

describe("tRPC items.stream under a slow consumer (issue 13)", { timeout: 240_000 }, () => {
  it(`a reader taking 4 MiB/s of ${ITEMS} × ~1 KB items: RSS grows < ${MAX_GROWTH_MIB} MiB`, async () => {
    server = await startMeasuredServer({ DATA_DIR: dataDir });
    const s = server;
    const headers = { ...tenant.headers, ...jsonl };
    for (let round = 0; round < 2; round++) {
      const warm = await getCounted(s.url, streamPath({ name: NAME, limit: 2000 }), { headers });
      expect(warm.status, warm.head).toBe(200);
    }
    const { report, result } = await measureRss(`items.stream ${ITEMS} × 1 KB at 4 MiB/s`, s.pid, () =>
      getCounted(s.url, streamPath({ name: NAME, limit: ITEMS }), { headers, bytesPerSecond: 4 * MiB }),
    );
    expect(result.status, result.head.slice(0, 300)).toBe(200);
    expect(result.complete).toBe(true);
    expect(result.bytes).toBeGreaterThan(ITEMS * 1000);
    // The last event: the end of the stream, every item sent.
    expect(result.tail).toMatch(new RegExp(`"type":"end","end_offset":${ITEMS},"cursor":null`));
    expect(report.growthMiB, `RSS ${report.baselineMiB} → ${report.peakMiB} MiB`).toBeLessThan(
      MAX_GROWTH_MIB,
    );
  });
});

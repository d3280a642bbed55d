import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import {
  bigStringValue,
  createMemoryTenant,
  dropMemoryTenant,
  getCounted,
  insertItems,
  measureRss,
  MiB,
  startMeasuredServer,
  stopServer,
  type CountedResponse,
  type MemoryTenant,
} from "../support/memory.js";

// SPEC §6 "Memory is bounded by configuration…" and §4 (no procedure buffers an unbounded result or an
// unbounded list of deleted keys); issue 11 defects 7 and 8. The server runs as a process of its own;
// its resident memory (RSS) is measured from outside while clients read a collection of 200 items of
// ~1 MB each (200 MB of values). Today's code cuts stream batches by rows only (STREAM_BATCH_SIZE = 1000,
// so one batch is the whole collection) and items.get buffers every item: the issue measured 184 → 1,106
// MiB for 3 GETs of 300 × 1 MB, and +540 MiB for items.get; here 3 readers cost +560…640 MiB and
// items.get +750 MiB, on either storage.
//
// The bounds leave room for what a bounded implementation still costs. Measured on today's code with
// STREAM_BATCH_SIZE=4 (4 × 1 MB rows, about what STREAM_BATCH_BYTES = 4 MiB gives): 3 concurrent
// readers +130…185 MiB (V8 collects the large strings of finished batches lazily), 1 reader +50…115 MiB;
// items.get with limit 16 (about PAGE_MAX_BYTES = 16 MiB of values): +58…100 MiB. Embedded figures
// (PGlite lives in the server process) are the higher ones.
//
// Runs on both storages (DATABASE_URL selects the PostgreSQL server). The data is written once by a
// set-up server; every case then starts a fresh server process, warms it up with small reads, and
// measures against that idle baseline, so that one case's garbage is not the next one's baseline.

const dataDir = freshDataDir();
const tag = randomUUID().slice(0, 8);
const BIG = "big";
const MANY = "many";
const BIG_ITEMS = 200;
/** Serialized value size: a JSON string just under MAX_VALUE_CHARS (1,000,000). */
const VALUE_CHARS = 999_990;
const MANY_ITEMS = 30_000;
/** What 3 concurrent bounded streams may cost, at most (today's cost the whole collection, 3 times). */
const MAX_STREAM_GROWTH_MIB = 256;
/** What one bounded items.get page may cost, at most (today's buffers the whole collection). */
const MAX_PAGE_GROWTH_MIB = 200;

type Server = Awaited<ReturnType<typeof startMeasuredServer>>;
let server: Server | undefined;
let tenant: MemoryTenant;

beforeAll(async () => {
  const started = Date.now();
  server = await startMeasuredServer({ DATA_DIR: dataDir });
  try {
    tenant = await createMemoryTenant(dataDir, tag, server.url, [BIG, MANY]);
    const tenantMade = Date.now();
    await insertItems(server.url, tenant.headers, BIG, BIG_ITEMS, 20, (_, key) =>
      bigStringValue(key, VALUE_CHARS),
    );
    const bigWritten = Date.now();
    await insertItems(server.url, tenant.headers, MANY, MANY_ITEMS, 10_000, (i) => ({ n: i }), "m");
    console.log(
      `[memory] set-up: tenant ${((tenantMade - started) / 1000).toFixed(1)} s, ${BIG_ITEMS} × ~1 MB ${((bigWritten - tenantMade) / 1000).toFixed(1)} s, ` +
        `${MANY_ITEMS} small ${((Date.now() - bigWritten) / 1000).toFixed(1)} s`,
    );
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

const trpcGetPath = (input: unknown) => `/trpc/items.get?input=${encodeURIComponent(JSON.stringify(input))}`;

/** A fresh server, warmed up with small reads of every surface under test (code loaded, pools open). */
async function freshServer(): Promise<Server> {
  server = await startMeasuredServer({ DATA_DIR: dataDir });
  const h = { headers: tenant.headers };
  for (let round = 0; round < 2; round++) {
    for (const path of [
      "/health",
      "/collections",
      `/collections/${BIG}?limit=1`,
      `/collections/${MANY}?limit=100`,
      `/lightning/collections/${BIG}?limit=1`,
      trpcGetPath({ name: BIG, limit: 1 }),
    ]) {
      const r = await getCounted(server.url, path, h);
      expect(r.status, `warm-up ${path}`).toBe(200);
    }
  }
  return server;
}

/** The end of a REST answer for the whole collection: `"end_offset": 200` and `"cursor": null`, in either order. */
const restEnding = new RegExp(
  `"end_offset":\\s*${BIG_ITEMS}\\s*,\\s*"cursor":\\s*null\\s*}\\s*$|"cursor":\\s*null\\s*,\\s*"end_offset":\\s*${BIG_ITEMS}\\s*}\\s*$`,
);

/** The whole collection came through, and the answer ended as the format says. */
function expectAllItems(r: CountedResponse, i: number, ending: RegExp): void {
  expect.soft(r.status, `reader ${i}: ${r.head.slice(0, 300)}`).toBe(200);
  expect.soft(r.complete, `reader ${i}: transfer complete`).toBe(true);
  expect.soft(r.bytes, `reader ${i}: body bytes`).toBeGreaterThanOrEqual(BIG_ITEMS * VALUE_CHARS);
  expect.soft(r.tail, `reader ${i}: end of the body`).toMatch(ending);
}

describe("streams hold a batch of bytes, not of rows (issue 11 #7)", { timeout: 180_000 }, () => {
  it(`3 concurrent GET /collections/${BIG} (${BIG_ITEMS} × ~1 MB), read fully: RSS grows < ${MAX_STREAM_GROWTH_MIB} MiB`, async () => {
    const s = await freshServer();
    const { report, result } = await measureRss(
      `#7 3 × GET /collections/${BIG} (${BIG_ITEMS} × 1 MB)`,
      s.pid,
      () =>
        Promise.all(
          [0, 1, 2].map(() => getCounted(s.url, `/collections/${BIG}`, { headers: tenant.headers })),
        ),
    );
    result.forEach((r, i) => expectAllItems(r, i, restEnding));
    expect
      .soft(report.growthMiB, `RSS ${report.baselineMiB} → ${report.peakMiB} MiB`)
      .toBeLessThan(MAX_STREAM_GROWTH_MIB);
  });

  it(`3 concurrent slow readers of GET /collections/${BIG} (~20 MiB/s each): RSS grows < ${MAX_STREAM_GROWTH_MIB} MiB`, async () => {
    // Backpressure: the server must not read ahead of what the socket takes.
    const s = await freshServer();
    const { report, result } = await measureRss(`#7 3 slow readers GET /collections/${BIG}`, s.pid, () =>
      Promise.all(
        [0, 1, 2].map(() =>
          getCounted(s.url, `/collections/${BIG}`, { headers: tenant.headers, bytesPerSecond: 20 * MiB }),
        ),
      ),
    );
    result.forEach((r, i) => expectAllItems(r, i, restEnding));
    expect
      .soft(report.growthMiB, `RSS ${report.baselineMiB} → ${report.peakMiB} MiB`)
      .toBeLessThan(MAX_STREAM_GROWTH_MIB);
  });

  it(`3 concurrent Lightning GET /lightning/collections/${BIG}?limit=300, read fully: RSS grows < ${MAX_STREAM_GROWTH_MIB} MiB`, async () => {
    const s = await freshServer();
    const { report, result } = await measureRss(
      `#7 3 × GET /lightning/collections/${BIG}?limit=300`,
      s.pid,
      () =>
        Promise.all(
          [0, 1, 2].map(() =>
            getCounted(s.url, `/lightning/collections/${BIG}?limit=300`, { headers: tenant.headers }),
          ),
        ),
    );
    result.forEach((r, i) => expectAllItems(r, i, /"cursor":\s*null\s*}\s*$/));
    expect
      .soft(report.growthMiB, `RSS ${report.baselineMiB} → ${report.peakMiB} MiB`)
      .toBeLessThan(MAX_STREAM_GROWTH_MIB);
  });
});

describe("tRPC procedures do not buffer (issue 11 #8)", { timeout: 180_000 }, () => {
  it(`items.get without a limit answers a bounded page with a cursor: RSS grows < ${MAX_PAGE_GROWTH_MIB} MiB`, async () => {
    const s = await freshServer();
    const { report, result } = await measureRss(
      `#8 items.get {name:"${BIG}"} (${BIG_ITEMS} × 1 MB)`,
      s.pid,
      () => getCounted(s.url, trpcGetPath({ name: BIG }), { headers: tenant.headers, keepWhole: 64 * MiB }),
    );
    expect
      .soft(report.growthMiB, `RSS ${report.baselineMiB} → ${report.peakMiB} MiB`)
      .toBeLessThan(MAX_PAGE_GROWTH_MIB);
    expect(result.status, result.head.slice(0, 300)).toBe(200);
    // PAGE_MAX_BYTES (16 MiB by default) of values, plus the JSON around them.
    expect(result.whole, `the page is ${(result.bytes / MiB).toFixed(1)} MiB`).toBeDefined();
    const page = (
      JSON.parse(result.whole!) as {
        result: { data: { results: unknown[]; end_offset: number; cursor: string | null } };
      }
    ).result.data;
    expect(page.results.length).toBeGreaterThan(0);
    expect(page.results.length).toBeLessThan(BIG_ITEMS);
    expect(page.end_offset).toBe(page.results.length);
    expect(typeof page.cursor).toBe("string");
  });

  it(`items.delete of ${MANY_ITEMS} items deletes them all and lists at most MAX_LISTED_DELETED_KEYS (10,000) keys`, async () => {
    const s = await freshServer();
    const { report, result } = await measureRss(
      `#8 items.delete {name:"${MANY}",key:"*"} (${MANY_ITEMS} small items)`,
      s.pid,
      async () => {
        const res = await fetch(`${s.url}/trpc/items.delete`, {
          method: "POST",
          headers: { ...tenant.headers, "content-type": "application/json" },
          body: JSON.stringify({ name: MANY, key: "*" }),
        });
        return { status: res.status, text: await res.text() };
      },
    );
    expect(result.status, result.text.slice(0, 300)).toBe(200);
    const data = (
      JSON.parse(result.text) as {
        result: { data: { deleted: number; keys: string[]; keys_truncated?: boolean } };
      }
    ).result.data;
    expect.soft(data.deleted).toBe(MANY_ITEMS);
    expect.soft(data.keys.length, "listed keys").toBeLessThanOrEqual(10_000);
    expect.soft(data.keys_truncated).toBe(true);
    expect.soft(new Set(data.keys).size, "listed keys are distinct").toBe(data.keys.length);
    expect
      .soft(
        data.keys.every((k) => /^m\d{5}$/.test(k)),
        "listed keys are keys of the collection",
      )
      .toBe(true);
    // Everything is gone, not only the listed keys.
    const left = await getCounted(s.url, `/collections/${MANY}?limit=1`, {
      headers: tenant.headers,
      keepWhole: 1024 * 1024,
    });
    expect(JSON.parse(left.whole!)).toMatchObject({ results: [] });
    expect(report.growthMiB).toBeLessThan(MAX_PAGE_GROWTH_MIB);
  });
});

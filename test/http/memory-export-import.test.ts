import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { request } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import {
  bigStringValue,
  createMemoryTenant,
  dropMemoryTenant,
  getCounted,
  insertItems,
  measureRss,
  startMeasuredServer,
  stopServer,
  type MemoryTenant,
} from "../support/memory.js";

// SPEC §9.4 "constant memory" / "never buffered whole": the server's resident memory (RSS, measured from
// outside, test/support/memory.ts) while a collection of 200 items of ~1 MB each (200 MB of values) is
// exported, and while that export is piped straight into an import of another collection. A server that
// held the collection (or the import's body) would grow by hundreds of MB; a streamed one by a few
// batches (STREAM_BATCH_BYTES, the import's batches of at most 8 MiB of values, V8's lazy collection of
// large strings). Runs on both storages (DATABASE_URL selects the PostgreSQL server).

const dataDir = freshDataDir();
const tag = randomUUID().slice(0, 8);
const BIG = "big";
const COPY = "copy";
const BIG_ITEMS = 200;
const VALUE_CHARS = 999_990;
/** What an export may cost (the whole collection is 200 MB; measured: +50 MiB on either storage). */
const MAX_GROWTH_MIB = 160;
/**
 * What an import may cost, alone (of 400 MB, in lines of 1 MB) or fed by an export of the same server
 * (200 MB; the bound of 3 concurrent readers in memory-large-reads.test.ts). A server holding the body
 * would grow by its size at least twice over (bytes, then text). Measured embedded (PGlite's memory is
 * the process's): +30…190 MiB for imports of 50 to 400 lines of 1 MB, without a trend in the size (V8
 * collects the large strings of finished lines lazily); +200…240 MiB piped.
 */
const MAX_IMPORT_GROWTH_MIB = 256;
/** Lines of ~1 MB in the import-only case. */
const IMPORT_LINES = 400;

type Server = Awaited<ReturnType<typeof startMeasuredServer>>;
let server: Server | undefined;
let tenant: MemoryTenant;

beforeAll(async () => {
  server = await startMeasuredServer({ DATA_DIR: dataDir });
  try {
    tenant = await createMemoryTenant(dataDir, tag, server.url, [BIG, COPY]);
    await insertItems(server.url, tenant.headers, BIG, BIG_ITEMS, 20, (_, key) =>
      bigStringValue(key, VALUE_CHARS),
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

/** A fresh server, warmed up with small exports and imports (code loaded, pools open). */
async function freshServer(): Promise<Server> {
  server = await startMeasuredServer({ DATA_DIR: dataDir });
  for (let round = 0; round < 2; round++) {
    const r = await getCounted(server.url, `/collections/${BIG}/export?key=k00000`, {
      headers: tenant.headers,
    });
    expect(r.status).toBe(200);
    const i = await fetch(`${server.url}/collections/${COPY}/import`, {
      method: "POST",
      headers: { ...tenant.headers, "content-type": "application/x-ndjson" },
      body: '{"key":"warm-up","value":1}\n',
    });
    expect(i.status).toBeLessThan(300);
  }
  return server;
}

/** GET …/export piped into POST …/import as it arrives (the test process holds a chunk, not the body). */
function pipeExportIntoImport(
  baseUrl: string,
  from: string,
  to: string,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const get = request(
      { host: hostname, port, path: `/collections/${from}/export`, headers: tenant.headers, agent: false },
      (exported) => {
        if (exported.statusCode !== 200) return reject(new Error(`export answered ${exported.statusCode}`));
        const post = request(
          {
            host: hostname,
            port,
            method: "POST",
            path: `/collections/${to}/import`,
            agent: false,
            headers: { ...tenant.headers, "content-type": "application/x-ndjson" },
          },
          (imported) => {
            let body = "";
            imported.on("data", (d) => (body += d));
            imported.on("end", () => resolve({ status: imported.statusCode!, body }));
            imported.on("error", reject);
          },
        );
        post.on("error", reject);
        exported.pipe(post);
      },
    );
    get.on("error", reject);
    get.end();
  });
}

/** POSTs `n` NDJSON lines of ~1 MB to `path`, each made when the socket takes more (the client holds one). */
function postLines(baseUrl: string, path: string, n: number): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        method: "POST",
        path,
        agent: false,
        headers: { ...tenant.headers, "content-type": "application/x-ndjson" },
      },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    let i = 0;
    const write = () => {
      while (i < n) {
        const key = `line-${i++}`;
        if (!req.write(`{"key":"${key}","value":"${bigStringValue(key, VALUE_CHARS)}"}\n`))
          return void req.once("drain", write);
      }
      req.end();
    };
    write();
  });
}

describe("export and import hold batches, not collections", { timeout: 300_000 }, () => {
  it(`GET /collections/${BIG}/export (${BIG_ITEMS} × ~1 MB), read fully: RSS grows < ${MAX_GROWTH_MIB} MiB`, async () => {
    const s = await freshServer();
    const { report, result } = await measureRss(`export ${BIG_ITEMS} × 1 MB`, s.pid, () =>
      getCounted(s.url, `/collections/${BIG}/export`, { headers: tenant.headers }),
    );
    expect(result.status).toBe(200);
    expect(result.complete).toBe(true);
    expect(result.bytes).toBeGreaterThan(BIG_ITEMS * VALUE_CHARS);
    expect(result.tail).toMatch(/"version":\d+\}\n$/);
    expect
      .soft(report.growthMiB, `RSS ${report.baselineMiB} → ${report.peakMiB} MiB`)
      .toBeLessThan(MAX_GROWTH_MIB);
  });

  it(`POST /collections/${COPY}/import of ${IMPORT_LINES} lines of ~1 MB, sent as they are made: RSS grows < ${MAX_IMPORT_GROWTH_MIB} MiB`, async () => {
    const s = await freshServer();
    const { report, result } = await measureRss(`import ${IMPORT_LINES} × 1 MB`, s.pid, () =>
      postLines(s.url, `/collections/${COPY}/import`, IMPORT_LINES),
    );
    expect(result.status, result.body.slice(0, 300)).toBe(201);
    expect(JSON.parse(result.body)).toMatchObject({
      upserted: IMPORT_LINES,
      created: IMPORT_LINES,
      error_count: 0,
    });
    expect
      .soft(report.growthMiB, `RSS ${report.baselineMiB} → ${report.peakMiB} MiB`)
      .toBeLessThan(MAX_IMPORT_GROWTH_MIB);
  });

  it(`the export piped into POST /collections/${COPY}/import: every item arrives, RSS grows < ${MAX_IMPORT_GROWTH_MIB} MiB`, async () => {
    const s = await freshServer();
    const { report, result } = await measureRss(`export → import ${BIG_ITEMS} × 1 MB`, s.pid, () =>
      pipeExportIntoImport(s.url, BIG, COPY),
    );
    expect(result.status, result.body.slice(0, 300)).toBe(201);
    expect(JSON.parse(result.body)).toMatchObject({
      upserted: BIG_ITEMS,
      created: BIG_ITEMS,
      error_count: 0,
    });
    expect
      .soft(report.growthMiB, `RSS ${report.baselineMiB} → ${report.peakMiB} MiB`)
      .toBeLessThan(MAX_IMPORT_GROWTH_MIB);
    const copy = await getCounted(s.url, `/collections/${COPY}/export?key=k*`, { headers: tenant.headers });
    expect(copy.bytes).toBeGreaterThan(BIG_ITEMS * VALUE_CHARS);
  });
});

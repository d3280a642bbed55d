import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usingPostgresServer, testEnv } from "../support/env.js";
import { seed } from "../support/items.js";
import { rawRequest } from "../support/raw.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { drain, pausedGet, sleep } from "../support/sockets.js";
import { rewriteDatabaseUrl, startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { createTenant, type Tenant } from "../support/tenant.js";

// Database faults (SPEC §6, §8) on a PostgreSQL server: requests fail fast with 503, /health says 503,
// streams are aborted rather than ended as valid JSON, and service resumes by itself. The server itself
// is never stopped: faults come from a local TCP proxy and from pg_terminate_backend.

const onPostgres = usingPostgresServer();

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

async function poolIdle(server: TestServer): Promise<boolean> {
  const stats = server.services.db.poolStats()!;
  return stats.total === stats.idle && stats.waiting === 0;
}

describe.runIf(onPostgres)("PostgreSQL unreachable (through a TCP proxy that is cut)", () => {
  let proxy: TcpProxy;
  let server: TestServer;
  let tenant: Tenant;
  let name: string;
  beforeAll(async () => {
    const target = new URL(testEnv().DATABASE_URL!);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    server = await startTestServer({
      DATABASE_URL: rewriteDatabaseUrl(testEnv().DATABASE_URL!, { port: proxy.port }),
      DB_CONNECT_TIMEOUT_MS: "1000",
      STREAM_BATCH_SIZE: "20",
    });
    tenant = await createTenant(server.services);
    name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      Array.from({ length: 2000 }, (_, i) => ({ key: `k${i}`, value: { pad: "p".repeat(4000) } })),
    );
  });
  afterAll(async () => {
    proxy?.restore();
    await tenant?.cleanup();
    await server?.close();
    await proxy?.close();
  });

  const h = () => ({ ...tenant.users.owner.headers, "content-type": "application/json" });
  const surfaces = () =>
    [
      ["GET", "/health", undefined],
      ["GET", `/collections/${name}/k1`, undefined],
      ["POST", `/collections/${name}`, JSON.stringify([{ key: "during-outage", value: 1 }])],
      ["DELETE", `/collections/${name}/k1`, undefined],
      ["GET", "/collections", undefined],
      ["GET", `/lightning/collections/${name}/k1`, undefined],
      ["PUT", `/lightning/collections/${name}/k1`, '{"value":"x"}'],
      ["GET", `/trpc/collections.list`, undefined],
    ] as const;

  for (const mode of ["cut", "hang"] as const) {
    it(`${mode === "cut" ? "refused" : "unanswered"} connections: every surface answers 503 fast; service resumes when the database is back`, async () => {
      proxy[mode]();
      for (const [method, path, body] of surfaces()) {
        const started = Date.now();
        const r = await rawRequest(server, method, path, h(), body);
        expect(r.status, `${method} ${path}: ${r.text}`).toBe(503);
        expect(Date.now() - started, `${method} ${path} took too long`).toBeLessThan(4000);
        if (path.startsWith("/lightning")) expect(r.body).toEqual({ error: "Service Unavailable" });
        else if (path.startsWith("/trpc")) expect(r.body.error.data.code).toBe("SERVICE_UNAVAILABLE");
        else
          expect(r.body).toEqual({ code: "SERVICE_UNAVAILABLE", message: expect.stringMatching(/database/) });
        if (!path.startsWith("/trpc")) expect(r.headers.get("retry-after")).toBe("1");
      }
      proxy.restore();
      await until(
        "health back to 200",
        10_000,
        async () => (await rawRequest(server, "GET", "/health")).status === 200,
      );
      const read = await rawRequest(server, "GET", `/collections/${name}/k1`, h());
      expect(read.status).toBe(200);
      expect(read.body.results).toHaveLength(1);
      expect(
        (await rawRequest(server, "GET", `/collections/${name}/during-outage`, h())).body.results,
      ).toEqual([]);
      await until("pool idle", 5000, async () => poolIdle(server));
    });
  }

  it("a stream cut by the database failure is aborted, never ended as valid JSON", async () => {
    const stream = await pausedGet(`${server.url}/collections/${name}`, tenant.users.viewer.headers);
    expect(stream.res.statusCode).toBe(200);
    await sleep(300); // the server is now blocked on backpressure, between two batches
    proxy.cut();
    const { text, complete } = await drain(stream.res);
    expect(complete).toBe(false);
    expect(() => JSON.parse(text)).toThrow();
    proxy.restore();
    await until(
      "service resumes",
      10_000,
      async () => (await rawRequest(server, "GET", `/collections/${name}?limit=1`, h())).status === 200,
    );
    await until("pool idle", 5000, async () => poolIdle(server));
    expect(server.services.logs.some((l) => /aborting it/.test(String(l.msg)))).toBe(true);
  });
});

describe.runIf(onPostgres)("PostgreSQL backends terminated mid-traffic (pg_terminate_backend)", () => {
  const app = `faults-${randomUUID().slice(0, 8)}`;
  let server: TestServer;
  let tenant: Tenant;
  let name: string;
  let admin: pg.Client;
  beforeAll(async () => {
    server = await startTestServer({
      DATABASE_URL: rewriteDatabaseUrl(testEnv().DATABASE_URL!, { params: { application_name: app } }),
      DB_CONNECT_TIMEOUT_MS: "2000",
      STREAM_BATCH_SIZE: "25",
    });
    tenant = await createTenant(server.services);
    name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      Array.from({ length: 500 }, (_, i) => ({ key: `s${i}`, value: { i } })),
    );
    admin = new pg.Client({ connectionString: testEnv().DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await tenant?.cleanup();
    await server?.close();
  });

  it("requests get their answer or 503 (never another 5xx), streams complete or abort, acknowledged writes stay, service resumes", async () => {
    const statuses: number[] = [];
    const acked = new Set<string>();
    const streams = { complete: 0, aborted: 0 };
    let stop = false;
    const auth = { ...tenant.users.editor.headers, "content-type": "application/json" };

    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const keys = [`w${w}-${i}-a`, `w${w}-${i}-b`];
        const r = await rawRequest(
          server,
          "POST",
          `/collections/${name}`,
          auth,
          JSON.stringify(keys.map((key) => ({ key, value: { w, i } }))),
        );
        statuses.push(r.status);
        if (r.status === 201) keys.forEach((k) => acked.add(k));
      }
    };
    const streamer = async () => {
      while (!stop) {
        const s = await pausedGet(`${server.url}/collections/${name}/s*`, tenant.users.viewer.headers);
        statuses.push(s.res.statusCode!);
        const { text, complete } = await drain(s.res);
        if (s.res.statusCode !== 200) continue;
        if (complete) {
          const body = JSON.parse(text); // a complete transfer is valid JSON with every item
          expect(body.results).toHaveLength(500);
          streams.complete++;
        } else {
          expect(() => JSON.parse(text)).toThrow();
          streams.aborted++;
        }
      }
    };
    const killer = async () => {
      let killed = 0;
      while (!stop) {
        const r = await admin.query(
          "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1",
          [app],
        );
        killed += r.rows[0].n;
        await sleep(150);
      }
      return killed;
    };
    const work = [writer(0), writer(1), writer(2), writer(3), streamer(), streamer()];
    const killing = killer();
    await sleep(3000);
    stop = true;
    await Promise.all(work);
    expect(await killing).toBeGreaterThan(0);

    const unexpected = statuses.filter((s) => ![200, 201, 503].includes(s));
    expect(unexpected).toEqual([]);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThan(0);
    expect(streams.complete + streams.aborted).toBeGreaterThan(0);

    // Recovered without restart: every acknowledged write is there.
    await until(
      "health back to 200",
      5000,
      async () => (await rawRequest(server, "GET", "/health")).status === 200,
    );
    const all = await rawRequest(server, "GET", `/collections/${name}/w*`, tenant.users.viewer.headers);
    expect(all.status).toBe(200);
    const stored = new Set(all.body.results.map((i: { key: string }) => i.key));
    expect([...acked].filter((k) => !stored.has(k))).toEqual([]);
    await until("pool idle", 5000, async () => poolIdle(server));
  });
});

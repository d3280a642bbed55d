import { request } from "node:http";
import { describe, expect, vi } from "vitest";
import { test } from "../support/fixtures.js";
import { seed } from "../support/items.js";
import { rawRequest } from "../support/raw.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { usingPostgresServer } from "../support/env.js";

// SPEC §8.1: GET /metrics in Prometheus' text format; counters that move with requests on every
// surface; no collection name, key or raw path in any label; METRICS_TOKEN protects it when set.

const it = test.extend("collection", { scope: "file" }, async ({ tenant }) =>
  tenant.collection("metered-orders"),
);
it.override({ serverEnv: { STREAM_BATCH_SIZE: "10" } });

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
      if (!m) throw new Error(`not a sample line: ${l}`);
      const labels = Object.fromEntries(
        [...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]),
      );
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

async function scrape(server: { url: string }, headers: Record<string, string> = {}): Promise<Sample[]> {
  const r = await rawRequest(server, "GET", "/metrics", headers);
  expect(r.status, r.text).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(r.text);
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);

describe("GET /metrics (SPEC §8.1)", () => {
  it("counts requests by method, route template and status, with a latency histogram", async ({
    server,
    tenant,
    collection,
  }) => {
    const auth = tenant.users.owner.headers;
    const before = await scrape(server);
    await rawRequest(server, "GET", `/collections/${collection}`, auth);
    await rawRequest(server, "GET", `/collections/${collection}/some-key`, auth);
    await rawRequest(server, "GET", `/collections/${collection}?limit=zero`, auth);
    await rawRequest(server, "GET", "/secret-path-nobody-knows", {});
    // The request line (and so the metrics) is written once each answer closed.
    await vi.waitFor(async () => {
      const after = await scrape(server);
      const route = { method: "GET", route: "/collections/{name}" };
      expect(
        value(after, "http_requests_total", { ...route, status: "200" }) -
          value(before, "http_requests_total", { ...route, status: "200" }),
      ).toBe(1);
      expect(
        value(after, "http_requests_total", { ...route, status: "400" }) -
          value(before, "http_requests_total", { ...route, status: "400" }),
      ).toBe(1);
      expect(
        value(after, "http_requests_total", { route: "/collections/{name}/{key}", status: "200" }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        value(after, "http_requests_total", { route: "(unmatched)", status: "404" }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        value(after, "http_request_duration_seconds_count", { ...route, status: "200" }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        after.some((s) => s.name === "http_request_duration_seconds_bucket" && s.labels.le === "+Inf"),
      ).toBe(true);
    });
  });

  it("counts items read, written and deleted on REST, tRPC and Lightning alike", async ({
    server,
    tenant,
    collection,
  }) => {
    const auth = { ...tenant.users.owner.headers, "content-type": "application/json" };
    const project = tenant.project.id;
    const count = async () => {
      const s = await scrape(server);
      return ["read", "written", "deleted"].map((what) => value(s, `collections_items_${what}_total`));
    };
    let [read, written, deleted] = await count();
    const moved = async (r: number, w: number, d: number) => {
      const [r2, w2, d2] = await count();
      expect([r2! - read!, w2! - written!, d2! - deleted!]).toEqual([r, w, d]);
      [read, written, deleted] = [r2, w2, d2];
    };
    expect(
      (
        await rawRequest(
          server,
          "POST",
          `/collections/${collection}`,
          auth,
          JSON.stringify([
            { key: "a", value: 1 },
            { key: "b", value: 2 },
          ]),
        )
      ).status,
    ).toBe(201);
    await moved(0, 2, 0);
    expect(
      (
        await rawRequest(
          server,
          "POST",
          "/trpc/items.upsert",
          auth,
          JSON.stringify({ name: collection, project_id: project, items: [{ key: "c", value: 3 }] }),
        )
      ).status,
    ).toBe(200);
    await moved(0, 1, 0);
    expect(
      (
        await rawRequest(
          server,
          "PUT",
          `/lightning/collections/${collection}/d`,
          auth,
          JSON.stringify({ value: "4" }),
        )
      ).status,
    ).toBe(200);
    await moved(0, 1, 0);
    expect((await rawRequest(server, "GET", `/collections/${collection}`, auth)).body.results).toHaveLength(
      4,
    );
    await moved(4, 0, 0);
    expect(
      (
        await rawRequest(
          server,
          "GET",
          `/trpc/items.get?input=${encodeURIComponent(JSON.stringify({ name: collection, key: "a" }))}`,
          auth,
        )
      ).status,
    ).toBe(200);
    await moved(1, 0, 0);
    expect((await rawRequest(server, "GET", `/lightning/collections/${collection}/b`, auth)).status).toBe(
      200,
    );
    await moved(1, 0, 0);
    expect(
      (await rawRequest(server, "GET", `/lightning/collections/${collection}?key=*`, auth)).body.items,
    ).toHaveLength(4);
    await moved(4, 0, 0);
    expect(
      (await rawRequest(server, "DELETE", `/lightning/collections/${collection}/d`, auth)).body.deleted,
    ).toBe(1);
    await moved(0, 0, 1);
    expect((await rawRequest(server, "DELETE", `/collections/${collection}/*`, auth)).body.deleted).toBe(3);
    await moved(0, 0, 3);
  });

  it("has no collection name, key or raw path in any label", async ({ server, tenant, collection }) => {
    const auth = tenant.users.owner.headers;
    await rawRequest(server, "GET", `/collections/${collection}/secret-key-1`, auth);
    await rawRequest(server, "DELETE", `/collections/${collection}/secret-key-2`, auth);
    await rawRequest(server, "GET", `/lightning/collections/${collection}/secret-key-3`, auth);
    await rawRequest(
      server,
      "GET",
      `/trpc/items.get,collections.list?batch=1&input=${encodeURIComponent('{"0":{"name":"metered-orders"}}')}`,
      auth,
    );
    await rawRequest(server, "GET", "/trpc/secret-procedure", auth);
    await rawRequest(server, "PATCH", `/collections/${collection}`, auth);
    await vi.waitFor(async () => {
      const samples = await scrape(server);
      expect(samples.some((s) => s.labels.route === "/trpc/(batch)")).toBe(true);
      const labels = samples.flatMap((s) => Object.values(s.labels)).join("\n");
      for (const secret of ["metered", "secret", collection]) expect(labels).not.toContain(secret);
      const routes = new Set(samples.map((s) => s.labels.route).filter(Boolean));
      for (const route of routes)
        expect(route).toMatch(
          /^(\/[a-z.{}_-]*|\(unmatched\)|\/trpc\/\((batch|unknown)\)|\/trpc\/[a-zA-Z.]+)+$/,
        );
      expect(routes).toContain("/trpc/(unknown)");
    });
  });

  it("shows open streams, the storage, the database pool (PostgreSQL) and process metrics", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      Array.from({ length: 400 }, (_, i) => ({ key: `k${i}`, value: "x".repeat(20_000) })),
    );
    const samples = await scrape(server);
    expect(value(samples, "collections_storage_info", { storage: server.services.db.kind })).toBe(1);
    expect(samples.some((s) => s.name === "process_cpu_user_seconds_total")).toBe(true);
    expect(samples.some((s) => s.name === "nodejs_heap_size_used_bytes")).toBe(true);
    if (usingPostgresServer())
      expect(samples.some((s) => s.name === "collections_db_pool_connections")).toBe(true);
    else expect(samples.some((s) => s.name.startsWith("collections_db_pool"))).toBe(false);
    const base = value(samples, "collections_open_streams");
    // An 8 MB answer its client does not read stays open (backpressure) until the client goes.
    const req = request(`${server.url}/collections/${name}`, { headers: tenant.users.owner.headers });
    const response = await new Promise<import("node:http").IncomingMessage>((resolve) =>
      req.on("response", resolve).end(),
    );
    response.pause();
    await vi.waitFor(async () =>
      expect(value(await scrape(server), "collections_open_streams")).toBe(base + 1),
    );
    response.destroy();
    await vi.waitFor(async () => expect(value(await scrape(server), "collections_open_streams")).toBe(base));
  });
});

describe("METRICS_TOKEN", () => {
  test("protects /metrics with a bearer token when set (401 with WWW-Authenticate otherwise)", async () => {
    const server: TestServer = await startTestServer({ METRICS_TOKEN: "scrape-secret" });
    try {
      const none = await rawRequest(server, "GET", "/metrics");
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe('Bearer realm="collections"');
      expect(none.body).toEqual({ code: "UNAUTHORIZED", message: expect.stringMatching(/METRICS_TOKEN/) });
      const wrong = await rawRequest(server, "GET", "/metrics", { authorization: "Bearer scrape-secreT" });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("www-authenticate")).toBe('Bearer realm="collections", error="invalid_token"');
      expect(wrong.text).not.toContain("scrape-secret");
      const right = await scrape(server, { authorization: "Bearer scrape-secret" });
      expect(right.some((s) => s.name === "http_requests_total")).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("leaves /metrics open when unset", async ({ server }) => {
    expect(server.services.env.METRICS_TOKEN).toBeUndefined();
    expect((await scrape(server)).length).toBeGreaterThan(0);
  });

  test("each service instance has its own registry", async () => {
    const a = await startTestServer();
    const b = await startTestServer();
    try {
      for (let i = 0; i < 3; i++) await rawRequest(a, "GET", "/health");
      await vi.waitFor(async () =>
        expect(value(await scrape(a), "http_requests_total", { route: "/health" })).toBe(3),
      );
      expect(value(await scrape(b), "http_requests_total", { route: "/health" })).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

import { createTRPCClient, httpBatchStreamLink, httpLink, splitLink } from "@trpc/client";
import { describe, expect } from "vitest";
import { Prisma } from "../../server/generated/prisma/client.js";
import type { AppRouter } from "../../server/router.js";
import { test } from "../support/fixtures.js";
import { call } from "../support/items.js";
import { lightningPath as lp } from "../support/lightning.js";
import { rawRequest, storedItems } from "../support/raw.js";
import type { TestServer } from "../support/server.js";
import type { TenantUser } from "../support/tenant.js";

// SPEC §9.2: an item whose expiry has passed is invisible to every read, count, export and pattern delete
// at once, on both dialects, before any sweep has touched it (the test server runs no sweep); writing an
// item again without TTL keeps no old expiry unless the collection has a default TTL, which applies to
// REST, tRPC and Lightning writes alike.

const it = test.extend("client", { scope: "file" }, ({ server }) => (user: TenantUser) => {
  const url = `${server.url}/trpc`;
  const headers = () => user.headers;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.path === "items.stream",
        true: httpBatchStreamLink({ url, headers }),
        false: httpLink({ url, headers }),
      }),
    ],
  });
});
it.override({ serverEnv: { STREAM_BATCH_SIZE: "2", DELETE_BATCH_SIZE: "2" } });

/** Resolves once the clock has passed `instant` (ms since the epoch) by a margin. */
const pastInstant = (instant: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, instant - Date.now()) + 150));

const keysOf = (body: { results: ({ key: string } | string)[] }) =>
  body.results.map((r) => (typeof r === "string" ? r : r.key));

async function post(server: TestServer, user: TenantUser, name: string, items: unknown[]) {
  const r = await call(server, user, "POST", `/collections/${name}`, items);
  expect(r.status, r.text).toBeLessThan(300);
  return r;
}

/** The keys every REST, tRPC and Lightning read of the whole collection sees, checked to agree. */
async function visibleEverywhere(
  server: TestServer,
  client: ReturnType<typeof createTRPCClient<AppRouter>>,
  viewer: TenantUser,
  name: string,
): Promise<string[]> {
  const rest = keysOf((await call(server, viewer, "GET", `/collections/${name}`)).body);
  expect(keysOf((await call(server, viewer, "GET", `/collections/${name}?keys_only=true`)).body)).toEqual(
    rest,
  );
  expect(keysOf(await client.items.get.query({ name }))).toEqual(rest);
  expect((await client.items.keys.query({ name })).results).toEqual(rest);
  const streamed: string[] = [];
  for await (const event of await client.items.stream.query({ name }))
    if (event.type === "items") streamed.push(...keysOf(event));
  expect(streamed).toEqual(rest);
  expect((await call(server, viewer, "GET", `/collections/${name}/count`)).body).toEqual({
    count: rest.length,
  });
  expect(await client.items.count.query({ name })).toEqual({ count: rest.length });
  const exported = await rawRequest(server, "GET", `/collections/${name}/export`, viewer.headers);
  expect(exported.status).toBe(200);
  const lines = exported.text.split("\n").filter(Boolean);
  expect(lines.map((l) => (JSON.parse(l) as { key: string }).key)).toEqual(rest);
  const lightning = await call(server, viewer, "GET", lp(name));
  expect(lightning.body.items.map((i: { key: string }) => i.key)).toEqual(rest);
  return rest;
}

describe("expired items are invisible at once (SPEC §9.2)", () => {
  it("to every read path, count, export and delete, on REST, tRPC and Lightning", async ({
    server,
    tenant,
    client,
  }) => {
    const name = await tenant.collection();
    const { viewer, editor } = tenant.users;
    const trpc = client(viewer);
    await post(server, editor, name, [
      { key: "keep", value: 1 },
      { key: "long", value: 2, ttl_seconds: 3600 },
      {
        key: "gone-1",
        value: [3],
        expires_at: new Date(Date.now() + 3_600_000).toISOString().replace("Z", "+00:00"),
      },
      { key: "gone-2", value: null, ttl_seconds: 3600 },
    ]);
    expect(await visibleEverywhere(server, trpc, viewer, name)).toEqual(["keep", "long", "gone-1", "gone-2"]);

    // gone-1 and gone-2 are made to expire now, as if an hour had passed; gone-3 and gone-4 expire by the clock.
    const sql = server.services.db.sql;
    await sql.execute(Prisma.sql`
      UPDATE items SET expires = clock_timestamp()
      WHERE key IN ('gone-1', 'gone-2') AND collection_id = (SELECT id FROM collections WHERE name = ${name})`);
    const soon = Date.now() + 1000;
    await post(server, editor, name, [
      { key: "gone-3", value: { a: 1 }, expires_at: new Date(soon).toISOString() },
      { key: "gone-4", value: "x", ttl_seconds: 1 },
    ]);
    const written = Date.now();
    await pastInstant(Math.max(soon, written + 1000));
    expect(await visibleEverywhere(server, trpc, viewer, name)).toEqual(["keep", "long"]);
    // Still stored: no sweep has run; the reads hide them by themselves.
    expect((await storedItems(server, tenant.project.id, name)).map((i) => i.key)).toEqual([
      "keep",
      "long",
      "gone-1",
      "gone-2",
      "gone-3",
      "gone-4",
    ]);

    // Reads by exact key and by pattern, REST (user and run tokens), tRPC and Lightning.
    const run = await server.services.auth.createRunToken({ projectId: tenant.project.id });
    const runner = { ...viewer, headers: { authorization: `Bearer ${run.token}` } };
    for (const user of [viewer, runner]) {
      expect((await call(server, user, "GET", `/collections/${name}/gone-1`)).body.results).toEqual([]);
      expect((await call(server, user, "GET", `/collections/${name}/gone-2?meta=true`)).body.results).toEqual(
        [],
      );
      expect(keysOf((await call(server, user, "GET", `/collections/${name}/*o*`)).body)).toEqual(["long"]);
      expect(keysOf((await call(server, user, "GET", `/collections/${name}/gone-*`)).body)).toEqual([]);
      expect((await call(server, user, "GET", `/collections/${name}/count?key=gone-*`)).body).toEqual({
        count: 0,
      });
      const one = await rawRequest(server, "GET", lp(name, "/gone-1"), user.headers);
      expect(one.status).toBe(204);
      expect(one.text).toBe("");
      expect((await call(server, user, "GET", lp(name, "?key=gone-*"))).body).toEqual({
        items: [],
        cursor: null,
      });
    }
    expect((await trpc.items.get.query({ name, key: "gone-3" })).results).toEqual([]);
    expect((await trpc.items.count.query({ name, key: "gone-*" })).count).toBe(0);
    const exported = await rawRequest(
      server,
      "GET",
      `/collections/${name}/export?key=gone-*`,
      viewer.headers,
    );
    expect(exported.text).toBe("");
    expect((await call(server, viewer, "GET", lp(name, "/keep"))).body).toMatchObject({
      key: "keep",
      value: "1",
    });

    // Deletes count only what exists: nothing expired is deleted (again).
    const dry = await call(server, editor, "DELETE", `/collections/${name}/gone-*?dry_run=true`);
    expect(dry.body).toEqual({ keys: [], deleted: 0 });
    expect((await call(server, editor, "DELETE", `/collections/${name}/gone-*`)).body).toEqual({
      keys: [],
      deleted: 0,
    });
    expect((await call(server, editor, "DELETE", `/collections/${name}/gone-1`)).body).toEqual({
      keys: [],
      deleted: 0,
    });
    expect((await call(server, editor, "DELETE", lp(name, "?key=gone-*"))).body).toEqual({
      key: "gone-*",
      deleted: 0,
      error: null,
    });
    expect((await call(server, editor, "DELETE", lp(name, "/gone-2"))).body).toEqual({
      key: "gone-2",
      deleted: 0,
      error: "Item Not Found",
    });
    expect((await trpc.items.get.query({ name })).results.map((r) => r.key)).toEqual(["keep", "long"]);
    // A delete of everything counts the live items only.
    expect((await call(server, tenant.users.admin, "DELETE", `/collections/${name}`)).body).toEqual({
      keys: ["keep", "long"],
      deleted: 2,
    });
  });

  it("an expiry in the past is accepted and the item is invisible at once; an expired key written again is new", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const { viewer, editor } = tenant.users;
    const written = await post(server, editor, name, [
      { key: "past", value: 1, expires_at: "2000-01-01T00:00:00Z" },
    ]);
    expect(written.body).toEqual({ upserted: 1, errors: [] });
    expect((await call(server, viewer, "GET", `/collections/${name}/past`)).body.results).toEqual([]);
    expect((await call(server, viewer, "GET", `/collections/${name}/count`)).body).toEqual({ count: 0 });
    // Written again, it is created anew (201), with a new created timestamp.
    const again = await post(server, editor, name, [{ key: "past", value: 2 }]);
    expect(again.status).toBe(201);
    const [item] = (await call(server, viewer, "GET", `/collections/${name}/past`)).body.results;
    expect(item).toMatchObject({ key: "past", value: 2 });
    expect(item.created).toBe(item.updated);
  });
});

describe("writing again", () => {
  it("without TTL keeps no old expiry, on every surface", async ({ server, tenant, client }) => {
    const name = await tenant.collection();
    const { viewer, editor } = tenant.users;
    await post(server, editor, name, [
      { key: "rest", value: 1, ttl_seconds: 2 },
      { key: "trpc", value: 1, ttl_seconds: 2 },
      { key: "lightning-post", value: 1, ttl_seconds: 2 },
      { key: "lightning-put", value: 1, ttl_seconds: 2 },
      { key: "at", value: 1, expires_at: new Date(Date.now() + 2000).toISOString() },
      { key: "expires", value: 1, ttl_seconds: 2 },
    ]);
    const written = Date.now();
    await post(server, editor, name, [
      { key: "rest", value: 2 },
      { key: "at", value: 2, ttl_seconds: null, expires_at: null },
    ]);
    await client(editor).items.upsert.mutate({ name, items: [{ key: "trpc", value: 2 }] });
    const lpost = await call(server, editor, "POST", lp(name), {
      items: [{ key: "lightning-post", value: "2" }],
    });
    expect(lpost.body).toEqual({ upserted: 1, error: null });
    const lput = await call(server, editor, "PUT", lp(name, "/lightning-put"), { value: "2" });
    expect(lput.body).toEqual({ upserted: 1, error: null });
    await pastInstant(written + 2000);
    const got = (await call(server, viewer, "GET", `/collections/${name}`)).body.results;
    expect(got.map((r: { key: string; value: unknown }) => [r.key, r.value])).toEqual([
      ["rest", 2],
      ["trpc", 2],
      ["lightning-post", "2"],
      ["lightning-put", "2"],
      ["at", 2],
    ]);
  });
});

describe("the collection's default TTL", () => {
  it("applies to REST, tRPC and Lightning writes without their own; an item's TTL overrides it; null stops it", async ({
    server,
    tenant,
    client,
  }) => {
    const { viewer, editor, admin } = tenant.users;
    const base = `/projects/${tenant.project.id}/collections`;
    const created = await call(server, admin, "POST", base, { name: "short-lived", default_ttl_seconds: 1 });
    expect(created.status, created.text).toBe(200);
    expect(created.body.default_ttl_seconds).toBe(1);
    const name = "short-lived";
    await post(server, editor, name, [
      { key: "rest", value: 1 },
      { key: "own-ttl", value: 1, ttl_seconds: 3600 },
      { key: "own-at", value: 1, expires_at: "2100-01-01T00:00:00Z" },
      { key: "rewritten", value: 1, ttl_seconds: 3600 },
    ]);
    // Written again without TTL, it gets the collection's default, not its old expiry.
    await post(server, editor, name, [{ key: "rewritten", value: 2 }]);
    await client(editor).items.upsert.mutate({ name, items: [{ key: "trpc", value: 1 }] });
    const lpost = await call(server, editor, "POST", lp(name), {
      items: [{ key: "lightning-post", value: "1" }],
    });
    expect(lpost.body).toEqual({ upserted: 1, error: null });
    const lput = await call(server, editor, "PUT", lp(name, "/lightning-put"), { value: "1" });
    expect(lput.body).toEqual({ upserted: 1, error: null });
    const written = Date.now();

    // Without a default, new writes do not expire (those written before keep theirs).
    const patched = await call(server, admin, "PATCH", `${base}/${name}`, { default_ttl_seconds: null });
    expect(patched.status, patched.text).toBe(200);
    await post(server, editor, name, [{ key: "after", value: 1 }]);
    await call(server, editor, "PUT", lp(name, "/lightning-after"), { value: "1" });

    await pastInstant(written + 1000);
    expect(keysOf((await call(server, viewer, "GET", `/collections/${name}`)).body)).toEqual([
      "own-ttl",
      "own-at",
      "after",
      "lightning-after",
    ]);
    expect((await call(server, viewer, "GET", `/collections/${name}/count`)).body).toEqual({ count: 4 });
  });
});

describe("per-item expiry errors", () => {
  it("a bad ttl_seconds or expires_at is an error of that item, naming it; the others are written", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const { viewer, editor } = tenant.users;
    const r = await call(server, editor, "POST", `/collections/${name}`, [
      { key: "ok", value: 1, ttl_seconds: 60 },
      { key: "zero", value: 1, ttl_seconds: 0 },
      { key: "negative", value: 1, ttl_seconds: -5 },
      { key: "fraction", value: 1, ttl_seconds: 1.5 },
      { key: "text", value: 1, ttl_seconds: "60" },
      { key: "huge", value: 1, ttl_seconds: 3_153_600_001 },
      { key: "words", value: 1, expires_at: "tomorrow" },
      { key: "no-zone", value: 1, expires_at: "2030-01-01T00:00:00" },
      { key: "far", value: 1, expires_at: "2300-01-01T00:00:00Z" },
      { key: "number", value: 1, expires_at: 1_900_000_000 },
      { key: "both", value: 1, ttl_seconds: 60, expires_at: "2030-01-01T00:00:00Z" },
      { key: "ok-at", value: 1, expires_at: "2030-01-01T00:00:00.123456+02:00" },
    ]);
    expect(r.status).toBe(201);
    expect(r.body.upserted).toBe(2);
    const byKey = Object.fromEntries(
      r.body.errors.map((e: { key: string; message: string; index: number }) => [
        e.key,
        [e.index, e.message],
      ]),
    );
    expect(Object.keys(byKey)).toEqual([
      "zero",
      "negative",
      "fraction",
      "text",
      "huge",
      "words",
      "no-zone",
      "far",
      "number",
      "both",
    ]);
    for (const key of ["zero", "negative", "fraction", "text", "huge"])
      expect(byKey[key][1], key).toMatch(/^ttl_seconds must be an integer from 1 to 3153600000/);
    for (const key of ["words", "no-zone", "far", "number"])
      expect(byKey[key][1], key).toMatch(/^expires_at must be an ISO 8601 date-time with a time zone/);
    expect(byKey.both[1]).toMatch(/ttl_seconds and expires_at cannot be given together/);
    expect(byKey.zero[0]).toBe(1);
    expect(keysOf((await call(server, viewer, "GET", `/collections/${name}`)).body)).toEqual(["ok", "ok-at"]);

    // Only invalid items: 422, nothing written.
    const none = await call(server, editor, "POST", `/collections/${name}`, [
      { key: "zero", value: 1, ttl_seconds: 0 },
    ]);
    expect(none.status).toBe(422);
    expect(none.body.errors).toMatchObject([{ index: 0, key: "zero" }]);
  });
});

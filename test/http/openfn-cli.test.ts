import { escape as qsEscape } from "node:querystring";
import path from "node:path";
import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { seed, setTimes } from "../support/items.js";
import { CliAbort, openfnCli, startRecordingProxy } from "../support/openfn-cli.js";
import { storedItems } from "../support/raw.js";

// SPEC §5: the OpenFn CLI's `openfn collections get|set|remove --endpoint <base>/lightning` works
// unchanged. test/support/openfn-cli.ts sends exactly what the CLI sends (see its header); every request
// goes through a proxy that records the request lines as they are on the wire.

const P = (name: string) => `/lightning/collections/${name}`;

/** Runs a CLI command and returns what it aborted with. */
async function aborted(work: Promise<unknown>): Promise<CliAbort> {
  try {
    await work;
  } catch (e) {
    if (e instanceof CliAbort) return e;
    throw e;
  }
  throw new Error("the command did not abort");
}

const bulk = Array.from({ length: 2500 }, (_, i) => ({
  key: `bulk-${String(i).padStart(4, "0")}`,
  value: { i, text: `item ${i} "q" \\ ü` },
}));

const it = test
  /** The recording proxy in front of the file's server. */
  .extend("proxy", { scope: "file" }, async ({ server }, { onCleanup }) => {
    const proxy = await startRecordingProxy(server.url);
    onCleanup(() => proxy.close());
    return proxy;
  })
  /** The CLI pointed at the proxy, with the editor's token unless told. */
  .extend(
    "cli",
    { scope: "file" },
    ({ tenant, proxy }) =>
      (token = tenant.users.editor.token) =>
        openfnCli({ endpoint: `${proxy.url}/lightning`, token }),
  )
  .extend(
    "keysOf",
    { scope: "file" },
    ({ server, tenant }) =>
      async (name: string) =>
        (await storedItems(server, tenant.project.id, name)).map((i) => i.key),
  )
  /** The wire saw exactly the request lines the client built (nothing re-encoded on the way). */
  .extend(
    "expectWireMatches",
    { scope: "file" },
    ({ proxy }) =>
      (client: ReturnType<typeof openfnCli>, from: number) => {
        const wire = proxy.requests.slice(from).map((r) => `${r.method} ${r.target}`);
        expect(wire).toEqual(client.lines());
      },
  )
  /** The collection of the get tests: other-1, the bulk items, other-2. */
  .extend("bulkCollection", { scope: "file" }, async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [
      { key: "other-1", value: 1 },
      ...bulk,
      { key: "other-2", value: 2 },
    ]);
    return name;
  })
  /** A fresh collection of items t-old-1, t-old-2 (2024-01), t-new-3, x-new (2024-06) and t-new-4 (created 2024-06, updated 2024-09). */
  .extend("timedCollection", { scope: "file" }, ({ server, tenant }) => async (): Promise<string> => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      ["t-old-1", "t-old-2", "t-new-3", "t-new-4", "x-new"].map((key) => ({ key, value: key })),
    );
    for (const k of ["t-old-1", "t-old-2"])
      await setTimes(server, name, tenant.project.id, k, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z");
    for (const k of ["t-new-3", "x-new"])
      await setTimes(server, name, tenant.project.id, k, "2024-06-01T00:00:00Z", "2024-06-01T00:00:00Z");
    await setTimes(
      server,
      name,
      tenant.project.id,
      "t-new-4",
      "2024-06-01T00:00:00Z",
      "2024-09-01T00:00:00Z",
    );
    return name;
  });

describe("openfn collections get", () => {
  it("a pattern pages with limit=1000 while the cursor is truthy: 2,500 items in 3 requests", async ({
    tenant,
    proxy,
    cli,
    expectWireMatches,
    bulkCollection: name,
  }) => {
    const c = cli();
    const from = proxy.requests.length;
    const result = await c.get({ name, key: "bulk-*" });
    expect(Object.keys(result)).toEqual(bulk.map((b) => b.key));
    expect(Object.values(result)).toEqual(bulk.map((b) => b.value));
    const lines = c.lines();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(`GET ${P(name)}?key=bulk-*&limit=1000`);
    for (let i = 1; i < lines.length; i++) {
      const previous = JSON.parse(c.log[i - 1]!.response.text) as { cursor: string };
      expect(typeof previous.cursor).toBe("string");
      expect(lines[i]).toBe(`GET ${P(name)}?key=bulk-*&limit=1000&cursor=${qsEscape(previous.cursor)}`);
    }
    expect(JSON.parse(c.log.at(-1)!.response.text).cursor).toBeNull();
    expect(
      c.log.every(
        (l) =>
          l.request.headers.Authorization === `Bearer ${tenant.users.editor.token}` &&
          l.response.status === 200,
      ),
    ).toBe(true);
    expectWireMatches(c, from);
  });

  // [options, the limit= of each request, items printed]
  const combos: [{ pageSize?: number; limit?: number }, number[], number][] = [
    [{ pageSize: 300 }, Array(9).fill(300), 2500],
    [{ pageSize: 2500 }, [2500], 2500],
    [{ limit: 1200 }, [1000, 200], 1200],
    [{ limit: 500, pageSize: 300 }, [300, 200], 500],
    [{ limit: 1000 }, [1000], 1000],
    [{ limit: 2500 }, [1000, 1000, 500], 2500],
    [{ limit: 3000 }, [1000, 1000, 1000], 2500],
    [{ limit: 7, pageSize: 3 }, [3, 3, 1], 7],
  ];
  it.for(combos)(
    "--page-size/--limit %j: requests with limit=%j, %i items",
    async ([options, limits, count], { proxy, cli, expectWireMatches, bulkCollection: name }) => {
      const c = cli();
      const from = proxy.requests.length;
      const result = await c.get({ name, key: "bulk-*", ...options });
      expect(Object.keys(result)).toEqual(bulk.slice(0, count).map((b) => b.key));
      expect(Object.values(result)).toEqual(bulk.slice(0, count).map((b) => b.value));
      expect(c.log.map((l) => new URLSearchParams(l.request.target.split("?")[1]).get("limit"))).toEqual(
        limits.map(String),
      );
      c.log.forEach((l, i) => {
        const cursor = new URLSearchParams(l.request.target.split("?")[1]).get("cursor");
        expect(cursor).toBe(i === 0 ? null : JSON.parse(c.log[i - 1]!.response.text).cursor);
        expect(l.request.target.startsWith(`${P(name)}?key=bulk-*&limit=${limits[i]}`)).toBe(true);
      });
      expectWireMatches(c, from);
    },
  );

  it("--project-id and the time filters are sent as project_id, created_*, updated_*", async ({
    server,
    tenant,
    cli,
  }) => {
    const timed = await tenant.collection();
    await seed(server, timed, tenant.project.id, [
      { key: "t-old", value: "o" },
      { key: "t-new", value: "n" },
      { key: "t-upd", value: "u" },
    ]);
    await setTimes(server, timed, tenant.project.id, "t-old", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z");
    await setTimes(server, timed, tenant.project.id, "t-new", "2024-06-01T00:00:00Z", "2024-06-01T00:00:00Z");
    await setTimes(server, timed, tenant.project.id, "t-upd", "2024-06-01T00:00:00Z", "2024-09-01T00:00:00Z");
    const c = cli();
    const result = await c.get({
      name: timed,
      key: "t-*",
      createdAfter: "2024-03-01T00:00:00Z",
      updatedBefore: "2024-08-01T00:00:00+02:00",
      projectId: tenant.project.id,
    });
    expect(result).toEqual({ "t-new": "n" });
    expect(c.lines()).toEqual([
      `GET ${P(timed)}?key=t-*&limit=1000&created_after=2024-03-01T00%3A00%3A00Z&updated_before=2024-08-01T00%3A00%3A00%2B02%3A00&project_id=${tenant.project.id}`,
    ]);
    expect(
      await c.get({
        name: timed,
        key: "t-*",
        createdBefore: "2024-03-01T00:00:00.000Z",
        updatedAfter: "2023-01-01T00:00:00Z",
      }),
    ).toEqual({ "t-old": "o" });
    expect(c.lines()[1]).toBe(
      `GET ${P(timed)}?key=t-*&limit=1000&created_before=2024-03-01T00%3A00%3A00.000Z&updated_after=2023-01-01T00%3A00%3A00Z`,
    );
  });

  it("a single key is read through the list route (?key=<key>&limit=1000), never /<key>, and prints its value", async ({
    server,
    tenant,
    cli,
    keysOf,
  }) => {
    const single = await tenant.collection();
    await seed(server, single, tenant.project.id, [
      { key: "k1", value: { name: "Ada", n: 1 } },
      { key: "k10", value: "not k1" },
      { key: "k1x", value: "not k1" },
    ]);
    // A string value is plain text on the Lightning wire: JSON.parse throws and the CLI prints the raw string.
    await seed(server, single, tenant.project.id, [{ key: "raw", value: "plain text, not JSON" }]);
    const c = cli();
    expect(await c.get({ name: single, key: "k1" })).toEqual({ name: "Ada", n: 1 });
    expect(await c.get({ name: single, key: "raw" })).toBe("plain text, not JSON");
    expect(await c.get({ name: single, key: "missing" })).toBeUndefined();
    expect(c.lines()).toEqual([
      `GET ${P(single)}?key=k1&limit=1000`,
      `GET ${P(single)}?key=raw&limit=1000`,
      `GET ${P(single)}?key=missing&limit=1000`,
    ]);
    expect(c.log.map((l) => l.response.status)).toEqual([200, 200, 200]);
    expect(JSON.parse(c.log[2]!.response.text)).toEqual({ items: [], cursor: null });
    expect(await keysOf(single)).toEqual(["k1", "k10", "k1x", "raw"]);
  });

  it("keys with \\ / .. % _ U+FEFF spaces quotes and unicode are exact through the query string", async ({
    server,
    tenant,
    cli,
    keysOf,
  }) => {
    const hostile = await tenant.collection();
    const pairs: [string, string][] = [
      ["a\\b", "a/b"],
      ["dir/../target", "target"],
      ["100%", "100%25"],
      ["a%2Fb", "a/b"],
      ["a_b", "axb"],
      ["\uFEFFbom", "bom"],
      ["with space", "with+space"],
      ['q"uote', "q'uote"],
      ["\u00e9", "e\u0301"],
      ["\u{1F600}/..", "."],
    ];
    const keys = [...new Set(pairs.flat())];
    await seed(
      server,
      hostile,
      tenant.project.id,
      keys.map((key) => ({ key, value: { key } })),
    );
    expect(await keysOf(hostile)).toEqual(keys);
    const c = cli();
    for (const key of keys) expect(await c.get({ name: hostile, key }), JSON.stringify(key)).toEqual({ key });
    expect(c.lines().map((l) => l.slice(`GET ${P(hostile)}?`.length))).toEqual(
      keys.map((k) => `key=${qsEscape(k)}&limit=1000`),
    );
    expect(c.lines()[0]).toBe(`GET ${P(hostile)}?key=a%5Cb&limit=1000`);
  });
});

describe("openfn collections set", () => {
  it("--items sends POST ?key=&limit=1000 with {items} of JSON-stringified values; the server writes them (200)", async ({
    server,
    tenant,
    proxy,
    cli,
    expectWireMatches,
  }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [{ key: "b", value: "old" }]);
    const before = await storedItems(server, tenant.project.id, name);
    const file = {
      a: { name: "Ada", tags: ["x"] },
      b: [1, 2],
      c: "text",
      n: 12.5,
      t: true,
      z: null,
      "a\\b": "backslash",
      "dir/../x": "dots",
    };
    const c = cli();
    const from = proxy.requests.length;
    const answer = await c.set({ name, itemsFileText: JSON.stringify(file, null, 2) });
    expect(c.lines()).toEqual([`POST ${P(name)}?key=&limit=1000`]);
    expect(c.log[0]!.request.headers).toEqual({
      Authorization: `Bearer ${tenant.users.editor.token}`,
      "content-type": "application/json",
    });
    expect(JSON.parse(c.log[0]!.request.body!)).toEqual({
      items: Object.entries(file).map(([key, value]) => ({ key, value: JSON.stringify(value) })),
    });
    expectWireMatches(c, from);
    expect(c.log[0]!.response.status).toBe(200);
    expect(answer).toEqual({ upserted: Object.keys(file).length, error: null });
    const stored = await storedItems(server, tenant.project.id, name);
    // A string on the Lightning wire is stored as that JSON string (SPEC §5, interop).
    expect(Object.fromEntries(stored.map((s) => [s.key, s.value]))).toEqual(
      Object.fromEntries(Object.entries(file).map(([k, v]) => [k, JSON.stringify(JSON.stringify(v))])),
    );
    expect(stored.map((s) => s.key)).toEqual(["b", "a", "c", "n", "t", "z", "a\\b", "dir/../x"]);
    expect(stored.find((s) => s.key === "b")!.updated >= before[0]!.updated).toBe(true);
    // And the CLI reads back what it wrote.
    expect(await c.get({ name, key: "*" })).toEqual(file);
  });

  it("--items with --project-id sends project_id after limit and is accepted", async ({
    tenant,
    cli,
    keysOf,
  }) => {
    const name = await tenant.collection();
    const c = cli();
    const answer = await c.set({ name, itemsFileText: '{"p":1}', projectId: tenant.project.id });
    expect(c.lines()).toEqual([`POST ${P(name)}?key=&limit=1000&project_id=${tenant.project.id}`]);
    expect(answer).toEqual({ upserted: 1, error: null });
    expect(await keysOf(name)).toEqual(["p"]);
  });

  it("KEY VALUE sends POST ?key=<KEY>&limit=1000 with the file's JSON re-stringified", async ({
    server,
    tenant,
    cli,
    keysOf,
  }) => {
    const name = await tenant.collection();
    const c = cli();
    const answer = await c.set({ name, key: "patient-1", valueFileText: '{ "name": "Ada",\n  "n": 1 }\n' });
    expect(c.lines()).toEqual([`POST ${P(name)}?key=patient-1&limit=1000`]);
    expect(c.log[0]!.request.body).toBe(
      JSON.stringify({ items: [{ key: "patient-1", value: '{"name":"Ada","n":1}' }] }),
    );
    expect(answer).toEqual({ upserted: 1, error: null });
    expect(await storedItems(server, tenant.project.id, name)).toMatchObject([
      { key: "patient-1", value: JSON.stringify('{"name":"Ada","n":1}') },
    ]);
    // A key with characters that need escaping in the (ignored) query parameter.
    const answer2 = await c.set({ name, key: "a\\b c+d%2F", valueFileText: '"v"' });
    expect(c.lines()[1]).toBe(`POST ${P(name)}?key=a%5Cb%20c%2Bd%252F&limit=1000`);
    expect(answer2).toEqual({ upserted: 1, error: null });
    expect(await keysOf(name)).toEqual(["patient-1", "a\\b c+d%2F"]);
    expect(await c.get({ name, key: "patient-1" })).toEqual({ name: "Ada", n: 1 });
    expect(await c.get({ name, key: "a\\b c+d%2F" })).toBe("v");
  });
});

describe("openfn collections remove", () => {
  it("a pattern with time filters sends DELETE ?key=<pattern>&limit=1000&created_after=…&updated_before=… and deletes exactly those", async ({
    proxy,
    cli,
    keysOf,
    expectWireMatches,
    timedCollection,
  }) => {
    const name = await timedCollection();
    const c = cli();
    const from = proxy.requests.length;
    const first = await c.remove({
      name,
      key: "t-*",
      createdAfter: "2024-03-01T00:00:00Z",
      updatedBefore: "2024-08-01T00:00:00Z",
    });
    expect(c.lines()).toEqual([
      `DELETE ${P(name)}?key=t-*&limit=1000&created_after=2024-03-01T00%3A00%3A00Z&updated_before=2024-08-01T00%3A00%3A00Z`,
    ]);
    expect(c.log[0]!.request.body).toBeUndefined();
    expectWireMatches(c, from);
    expect(c.log[0]!.response.status).toBe(200);
    expect(first).toEqual({ key: "t-*", deleted: 1, error: null });
    expect(await keysOf(name)).toEqual(["t-old-1", "t-old-2", "t-new-4", "x-new"]);

    expect(await c.remove({ name, key: "t-*", createdBefore: "2024-03-01T00:00:00Z" })).toEqual({
      key: "t-*",
      deleted: 2,
      error: null,
    });
    expect(c.lines()[1]).toBe(`DELETE ${P(name)}?key=t-*&limit=1000&created_before=2024-03-01T00%3A00%3A00Z`);
    expect(await keysOf(name)).toEqual(["t-new-4", "x-new"]);

    expect(await c.remove({ name, key: "t-*", updatedAfter: "2024-08-01T00:00:00+02:00" })).toEqual({
      key: "t-*",
      deleted: 1,
      error: null,
    });
    expect(c.lines()[2]).toBe(
      `DELETE ${P(name)}?key=t-*&limit=1000&updated_after=2024-08-01T00%3A00%3A00%2B02%3A00`,
    );
    expect(await keysOf(name)).toEqual(["x-new"]);
  });

  it("a pattern without filters deletes every match; --project-id is not sent by the CLI's remove", async ({
    server,
    tenant,
    cli,
    keysOf,
  }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      ["p-1", "p-2", "p-3", "q-1"].map((key) => ({ key, value: key })),
    );
    const c = cli();
    expect(await c.remove({ name, key: "p-*", projectId: tenant.project.id })).toEqual({
      key: "p-*",
      deleted: 3,
      error: null,
    });
    expect(c.lines()).toEqual([`DELETE ${P(name)}?key=p-*&limit=1000`]);
    expect(await keysOf(name)).toEqual(["q-1"]);
  });

  it("a single key sends DELETE ?key=<key>&limit=1000 and deletes exactly that item; a missing key deletes nothing", async ({
    server,
    tenant,
    cli,
    keysOf,
  }) => {
    const name = await tenant.collection();
    const keys = ["gone", "gone2", "gon", "Gone", "a\\b", "a/b", "100%", "100%25"];
    await seed(
      server,
      name,
      tenant.project.id,
      keys.map((key) => ({ key, value: key })),
    );
    const c = cli();
    expect(await c.remove({ name, key: "gone" })).toEqual({ key: "gone", deleted: 1, error: null });
    expect(c.lines()).toEqual([`DELETE ${P(name)}?key=gone&limit=1000`]);
    expect(await keysOf(name)).toEqual(["gone2", "gon", "Gone", "a\\b", "a/b", "100%", "100%25"]);
    expect(await c.remove({ name, key: "a\\b" })).toEqual({ key: "a\\b", deleted: 1, error: null });
    expect(await c.remove({ name, key: "100%" })).toEqual({ key: "100%", deleted: 1, error: null });
    expect(c.lines().slice(1)).toEqual([
      `DELETE ${P(name)}?key=a%5Cb&limit=1000`,
      `DELETE ${P(name)}?key=100%25&limit=1000`,
    ]);
    expect(await keysOf(name)).toEqual(["gone2", "gon", "Gone", "a/b", "100%25"]);
    expect(await c.remove({ name, key: "never-was" })).toEqual({ key: "never-was", deleted: 0, error: null });
    expect(await keysOf(name)).toEqual(["gone2", "gon", "Gone", "a/b", "100%25"]);
  });

  it("--dry-run lists the matching keys through GET ?key=<pattern>&limit=1000 (time filters not sent) and deletes nothing", async ({
    tenant,
    cli,
    keysOf,
    timedCollection,
  }) => {
    const name = await timedCollection();
    const c = cli();
    const keys = await c.remove({
      name,
      key: "t-*",
      dryRun: true,
      createdAfter: "2024-03-01T00:00:00Z",
      projectId: tenant.project.id,
    });
    // The CLI's dry run does not pass the time filters: it lists every key of the pattern.
    expect(keys).toEqual(["t-old-1", "t-old-2", "t-new-3", "t-new-4"]);
    expect(c.lines()).toEqual([`GET ${P(name)}?key=t-*&limit=1000&project_id=${tenant.project.id}`]);
    expect(await keysOf(name)).toEqual(["t-old-1", "t-old-2", "t-new-3", "t-new-4", "x-new"]);
  });
});

describe("errors as the CLI reports them", () => {
  it("an unknown collection is 404 on get, set and remove ('404: collection not found')", async ({ cli }) => {
    const c = cli();
    for (const work of [
      () => c.get({ name: "no-such-collection", key: "*" }),
      () => c.get({ name: "no-such-collection", key: "k" }),
      () => c.set({ name: "no-such-collection", itemsFileText: '{"k":1}' }),
      () => c.set({ name: "no-such-collection", key: "k", valueFileText: "1" }),
      () => c.remove({ name: "no-such-collection", key: "k*", createdAfter: "2024-01-01T00:00:00Z" }),
      () => c.remove({ name: "no-such-collection", key: "k" }),
    ]) {
      const e = await aborted(work());
      expect({ status: e.status, message: e.message }).toEqual({
        status: 404,
        message: "404: collection not found",
      });
    }
    expect(c.lines()).toEqual([
      `GET ${P("no-such-collection")}?key=*&limit=1000`,
      `GET ${P("no-such-collection")}?key=k&limit=1000`,
      `POST ${P("no-such-collection")}?key=&limit=1000`,
      `POST ${P("no-such-collection")}?key=k&limit=1000`,
      `DELETE ${P("no-such-collection")}?key=k*&limit=1000&created_after=2024-01-01T00%3A00%3A00Z`,
      `DELETE ${P("no-such-collection")}?key=k&limit=1000`,
    ]);
    expect(c.log.map((l) => JSON.parse(l.response.text))).toEqual(Array(6).fill({ error: "Not Found" }));
  });

  it("a bad token is 401 on get, set and remove ('Error from server: 401', body {error: Unauthorized})", async ({
    server,
    tenant,
    cli,
  }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [{ key: "k", value: 1 }]);
    const c = cli("not-a-token");
    for (const work of [
      () => c.get({ name, key: "*" }),
      () => c.set({ name, itemsFileText: '{"k":2}' }),
      () => c.set({ name, key: "k", valueFileText: "2" }),
      () => c.remove({ name, key: "k" }),
      () => c.remove({ name, key: "*", dryRun: true }),
    ]) {
      const e = await aborted(work());
      expect({ status: e.status, message: e.message, body: e.loggedBody }).toEqual({
        status: 401,
        message: "Error from server: 401",
        body: { error: "Unauthorized" },
      });
    }
    expect(await storedItems(server, tenant.project.id, name)).toMatchObject([{ key: "k", value: "1" }]);
  });

  it("a viewer's set and remove are 403 ('Error from server: 403'); nothing changes", async ({
    server,
    tenant,
    cli,
  }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [{ key: "k", value: 1 }]);
    const c = cli(tenant.users.viewer.token);
    expect(await c.get({ name, key: "k" })).toBe(1);
    for (const work of [
      () => c.set({ name, itemsFileText: '{"k":2}' }),
      () => c.set({ name, key: "k", valueFileText: "2" }),
      () => c.remove({ name, key: "k" }),
    ]) {
      const e = await aborted(work());
      expect({ status: e.status, message: e.message }).toEqual({
        status: 403,
        message: "Error from server: 403",
      });
    }
    expect(await storedItems(server, tenant.project.id, name)).toMatchObject([{ key: "k", value: "1" }]);
  });
});

describe("the client's request lines are what undici writes", () => {
  it("undici's request(url, {query}) puts the same bytes on the wire as test/support/openfn-cli.ts", async ({
    tenant,
    proxy,
  }) => {
    // undici comes with @openfn/language-collections; without it there is nothing to compare.
    const undici = await import("undici").catch(() => undefined);
    if (!undici) return;
    const name = await tenant.collection();
    const endpoint = `${proxy.url}/lightning`;
    const queries: Record<string, unknown>[] = [
      { key: undefined, limit: 1000 },
      { key: null, limit: 1000, project_id: tenant.project.id },
      {
        key: "a\\b c+d/é\uFEFF'\"*~!()%",
        limit: 7,
        created_after: "2024-01-01T00:00:00+01:00",
        cursor: "AbC-_+/=",
      },
      { key: "\u{1F600}", limit: 1000 },
    ];
    const c = openfnCli({ endpoint, token: "t" });
    for (const query of queries) {
      const from = proxy.requests.length;
      const res = await undici.request(path.join(endpoint, "/collections", name), {
        method: "GET",
        headers: { Authorization: "Bearer t" },
        query,
      });
      await res.body.text();
      const wire = proxy.requests.slice(from).map((r) => r.target);
      expect(wire).toHaveLength(1);
      // Built as the support client builds it.
      const { stringify } = await import("node:querystring");
      expect(wire[0]).toBe(`${P(name)}?${stringify(query as Record<string, string>)}`);
    }
    // And the support client's own request for `set --items` is byte-identical to undici's.
    const from = proxy.requests.length;
    await c.set({ name, itemsFileText: "{}" }).catch(() => {});
    const viaUndici = await undici.request(path.join(endpoint, "/collections", name), {
      method: "POST",
      headers: { Authorization: "Bearer t", "content-type": "application/json" },
      query: { key: undefined, limit: 1000 },
      body: JSON.stringify({ items: [] }),
    });
    await viaUndici.body.text();
    const [mine, theirs] = proxy.requests.slice(from);
    expect(mine!.line.toString("latin1")).toBe(`POST ${P(name)}?key=&limit=1000 HTTP/1.1`);
    expect(theirs!.line.equals(mine!.line)).toBe(true);
  });
});

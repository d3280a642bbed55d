import { collections } from "@openfn/language-collections";
import { afterAll, beforeAll, describe, expect, vi } from "vitest";
import { getItem } from "../../server/services/items.js";
import { test } from "../support/fixtures.js";
import { within } from "../support/lightning.js";

// The official adaptor (@openfn/language-collections 0.8.0), unchanged, against a running server.

// The adaptor writes to the console.
beforeAll(() => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  vi.spyOn(console, "warn").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterAll(() => {
  vi.restoreAllMocks();
});

type State = { configuration: { collections_endpoint: string; collections_token: string }; data?: any };

/** The adaptor's operations against the file's server (as the tenant's editor unless told), and what they did. */
const it = test.extend("adaptor", { scope: "file" }, ({ server, tenant }) => {
  const state = (token = tenant.users.editor.token): State => ({
    configuration: { collections_endpoint: `${server.url}/lightning/collections`, collections_token: token },
  });

  /** Runs one operation within the watchdog time. */
  const run = (op: (s: State) => Promise<State>, s = state(), ms = 30_000): Promise<State> =>
    within(ms, "adaptor operation", op(s));

  const listRequests = (name: string) =>
    server.services.logs.filter(
      (l) => l.msg === "request" && l.method === "GET" && l.path === `/lightning/collections/${name}`,
    ).length;

  async function createdOf(name: string, key: string): Promise<string> {
    const c = await server.services.db.prisma.collection.findFirstOrThrow({
      where: { name, projectId: tenant.project.id },
    });
    return (await getItem(server.services.db.sql, c.id, key))!.created;
  }
  return { state, run, listRequests, createdOf };
});

describe("@openfn/language-collections against /lightning/collections", () => {
  it("sets and gets a single value by exact key; a missing key gives {}", async ({
    tenant,
    adaptor: { run },
  }) => {
    const name = await tenant.collection();
    await run(collections.set(name, "patient-1", { name: "Ada", tags: ["a", "b"], n: 1 }));
    expect((await run(collections.get(name, "patient-1"))).data).toEqual({
      name: "Ada",
      tags: ["a", "b"],
      n: 1,
    });
    expect((await run(collections.get(name, "nobody"))).data).toEqual({});
    await run(collections.set(name, "greeting", "hello"));
    expect((await run(collections.get(name, "greeting"))).data).toBe("hello");
  });

  it("sets an array with a key generator, then gets and iterates it by pattern", async ({
    tenant,
    adaptor: { run },
  }) => {
    const name = await tenant.collection();
    const people = [
      { id: 1, name: "a" },
      { id: 2, name: "b" },
      { id: 3, name: "c" },
    ];
    await run(collections.set(name, (v: { id: number }) => `person-${v.id}`, people));
    await run(collections.set(name, "other", { id: 9 }));
    const got = (await run(collections.get(name, "person-*"))).data;
    expect(got.map((d: { key: string }) => d.key)).toEqual(["person-1", "person-2", "person-3"]);
    expect(got.map((d: { value: unknown }) => d.value)).toEqual(people);
    const seen: [string, unknown][] = [];
    await run(
      collections.each(
        name,
        "person-*",
        (_s: unknown, value: unknown, key: string) => void seen.push([key, value]),
      ),
    );
    expect(seen).toEqual(people.map((p) => [`person-${p.id}`, p]));
  });

  it("sets 2,500 items in batches of 1,000 and reads them back across several pages of cursors", async ({
    tenant,
    adaptor: { state, run, listRequests },
  }) => {
    const name = await tenant.collection();
    const items = Array.from({ length: 2500 }, (_, i) => ({ i, text: `item ${i} "quoted" \\ ünïcode` }));
    await run(
      collections.set(name, (v: { i: number }) => `bulk-${String(v.i).padStart(4, "0")}`, items),
      state(),
      60_000,
    );
    const before = listRequests(name);
    const got = (await run(collections.get(name, "bulk-*"), state(), 60_000)).data;
    expect(listRequests(name) - before).toBe(3);
    expect(got).toHaveLength(2500);
    expect(got.map((d: { value: unknown }) => d.value)).toEqual(items);
    expect(new Set(got.map((d: { key: string }) => d.key)).size).toBe(2500);
    let count = 0;
    await run(
      collections.each(name, { key: "bulk-1*", pageSize: 300 }, () => void count++),
      state(),
      60_000,
    );
    expect(count).toBe(1000);
  });

  it("filters with created_after / created_before over a pattern", async ({
    tenant,
    adaptor: { run, createdOf },
  }) => {
    const name = await tenant.collection();
    await run(collections.set(name, (v: { n: number }) => `t-old-${v.n}`, [{ n: 1 }, { n: 2 }]));
    await new Promise((r) => setTimeout(r, 5));
    await run(collections.set(name, (v: { n: number }) => `t-new-${v.n}`, [{ n: 3 }, { n: 4 }]));
    await run(collections.set(name, "x-new", { n: 5 }));
    const cut = await createdOf(name, "t-new-3");
    const keys = async (query: Record<string, string>) =>
      ((await run(collections.get(name, query))).data as { key: string }[]).map((d) => d.key);
    expect(await keys({ key: "t-*", createdAfter: cut })).toEqual(["t-new-3", "t-new-4"]);
    expect(await keys({ key: "t-*", created_after: cut })).toEqual(["t-new-3", "t-new-4"]);
    expect(await keys({ key: "t-*", createdBefore: cut })).toEqual(["t-old-1", "t-old-2"]);
    const seen: string[] = [];
    await run(
      collections.each(
        name,
        { key: "t-*", createdBefore: cut },
        (_s: unknown, _v: unknown, key: string) => void seen.push(key),
      ),
    );
    expect(seen).toEqual(["t-old-1", "t-old-2"]);
  });

  it("removes by key (present and missing) and by pattern", async ({ tenant, adaptor: { run } }) => {
    const name = await tenant.collection();
    await run(
      collections.set(name, (v: { k: string }) => v.k, [
        { k: "keep" },
        { k: "gone" },
        { k: "p-1" },
        { k: "p-2" },
      ]),
    );
    await run(collections.remove(name, "gone"));
    expect((await run(collections.get(name, "gone"))).data).toEqual({});
    await run(collections.remove(name, "never-was"));
    await run(collections.remove(name, "p-*"));
    const left = (await run(collections.get(name, "*"))).data as { key: string }[];
    expect(left.map((d) => d.key)).toEqual(["keep"]);
  });

  it("an unknown collection raises the adaptor's not-found error", async ({ adaptor: { run } }) => {
    await expect(run(collections.get("no-such-collection", "k"))).rejects.toMatchObject({
      code: "COLLECTION_NOT_FOUND",
    });
    await expect(run(collections.set("no-such-collection", "k", 1))).rejects.toMatchObject({
      code: "COLLECTION_NOT_FOUND",
    });
    await expect(run(collections.remove("no-such-collection", "k"))).rejects.toMatchObject({
      code: "COLLECTION_NOT_FOUND",
    });
  });

  it("a bad token raises its error with status 401", async ({ tenant, adaptor: { state, run } }) => {
    const name = await tenant.collection();
    const rejected = run(collections.get(name, "k"), state("not-a-token"));
    await expect(rejected).rejects.toMatchObject({ code: 401, message: '{"error":"Unauthorized"}' });
    await expect(run(collections.get(name, "k*"), state("not-a-token"))).rejects.toMatchObject({ code: 401 });
  });

  it("works with a run token", async ({ server, tenant, adaptor: { state, run } }) => {
    const name = await tenant.collection();
    const { token } = await server.services.auth.createRunToken({ projectId: tenant.project.id });
    await run(collections.set(name, "r", [1, 2]), state(token));
    expect((await run(collections.get(name, "r"), state(token))).data).toEqual([1, 2]);
  });
});

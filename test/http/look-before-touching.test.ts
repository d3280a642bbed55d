import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { describe, expect } from "vitest";
import type { AppRouter } from "../../server/router.js";
import type { Sql } from "../../server/sql.js";
import { test } from "../support/fixtures.js";
import { call, keyPath, seed, setTimes } from "../support/items.js";
import type { TenantUser } from "../support/tenant.js";

// SPEC §9.5, looking before touching: GET /collections/{name}/count, keys_only=true, DELETE with
// dry_run=true and max_affected=N, on REST and tRPC. Counts, key lists and dry runs must agree with
// what a GET and a real delete then do.

/** A typed tRPC client of the file's server acting as `user`; `keys(name)`: a collection's keys, as its viewer reads them. */
const it = test
  .extend("client", { scope: "file" }, ({ server }) => (user: TenantUser) => {
    const headers = () => user.headers;
    return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${server.url}/trpc`, headers })] });
  })
  .extend(
    "keys",
    { scope: "file" },
    ({ server, tenant }) =>
      async (name: string) =>
        (await call(server, tenant.users.viewer, "GET", `/collections/${name}`)).body.results.map(
          (r: { key: string }) => r.key,
        ),
  );
it.override({ serverEnv: { DELETE_BATCH_SIZE: "3", STREAM_BATCH_SIZE: "4", MAX_AFFECTED_LIMIT: "50" } });

/** The values the streamed item reads of `work` got from the database (their statement orders by items.ins_xid, items.seq). */
async function valuesRead(sql: Sql, work: () => Promise<unknown>): Promise<string[]> {
  const original = sql.query;
  const values: string[] = [];
  sql.query = async function (statement, options) {
    const rows = await original.call(sql, statement, options);
    if (statement.text.includes("ORDER BY items.ins_xid, items.seq"))
      for (const row of rows as { value?: string; wire?: string }[]) {
        // A row built as wire text by the database (GET): a keys-only read's is the key alone, a JSON
        // string; an item's is an object holding its value.
        if (row.value === undefined && row.wire !== undefined)
          values.push(row.wire.startsWith('"') ? "" : row.wire);
        else values.push(row.value ?? "(none)");
      }
    return rows;
  } as typeof original;
  try {
    await work();
  } finally {
    sql.query = original;
  }
  return values;
}

/** A collection with keys p-1..p-6 (p-1, p-2 created on 2024-10-07, p-3 on 2024-10-08), q-1, q-2 and `count`. */
async function seeded(server: Parameters<typeof seed>[0], tenant: { project: { id: string } }, name: string) {
  const keys = ["p-1", "q-1", "p-2", "p-3", "count", "p-4", "q-2", "p-5", "p-6"];
  await seed(
    server,
    name,
    tenant.project.id,
    keys.map((key, i) => ({ key, value: { i, text: "é".repeat(i) } })),
  );
  for (const [key, day] of [
    ["p-1", "2024-10-07T10:00:00Z"],
    ["p-2", "2024-10-07T23:00:00Z"],
    ["p-3", "2024-10-08T23:59:59.999999Z"],
  ] as const)
    await setTimes(server, name, tenant.project.id, key, day, day);
  return keys;
}

describe("GET /collections/{name}/count, keys_only, DELETE dry_run (REST)", () => {
  it("agree with what a GET and a real delete then do, for patterns and time filters", async ({
    server,
    tenant,
    keys,
  }) => {
    const name = await tenant.collection();
    const all = await seeded(server, tenant, name);
    const { viewer, editor, admin } = tenant.users;
    const cases: [string, string][] = [
      ["", ""],
      ["/p-*", "key=p-*"],
      ["/p-*?created_before=2024-10-08", "key=p-*&created_before=2024-10-08"],
      ["/*?updated_after=2024-10-08", "key=*&updated_after=2024-10-08"],
      ["/q-2", "key=q-2"],
      ["/nothing*", "key=nothing*"],
    ];
    for (const [path, countQuery] of cases) {
      const sep = path.includes("?") ? "&" : "?";
      const got = await call(server, viewer, "GET", `/collections/${name}${path}`);
      const expected = got.body.results.map((r: { key: string }) => r.key);
      const count = await call(server, viewer, "GET", `/collections/${name}/count?${countQuery}`);
      expect(count.status, path).toBe(200);
      expect(count.body, path).toEqual({ count: expected.length });
      const keysOnly = await call(server, viewer, "GET", `/collections/${name}${path}${sep}keys_only=true`);
      expect(keysOnly.status, path).toBe(200);
      expect(keysOnly.body, path).toEqual({ results: expected, end_offset: expected.length, cursor: null });
      const deleter = path === "" || path.startsWith("/*") ? admin : editor;
      const dry = await call(server, deleter, "DELETE", `/collections/${name}${path}${sep}dry_run=true`);
      expect(dry.status, path).toBe(200);
      expect(dry.body, path).toEqual({ keys: expected, deleted: expected.length });
      expect(await keys(name), path).toEqual(all);
    }
    // The real deletes then take exactly what the dry runs listed.
    const dry = await call(
      server,
      editor,
      "DELETE",
      `/collections/${name}/p-*?created_before=2024-10-08&dry_run=1`,
    );
    const real = await call(server, editor, "DELETE", `/collections/${name}/p-*?created_before=2024-10-08`);
    expect(real.body).toEqual(dry.body);
    expect(real.body).toEqual({ keys: ["p-1", "p-2", "p-3"], deleted: 3 });
    const dryAll = await call(server, admin, "DELETE", `/collections/${name}?dry_run=true`);
    expect(dryAll.body.deleted).toBe(all.length - 3);
    expect((await call(server, admin, "DELETE", `/collections/${name}`)).body).toEqual(dryAll.body);
    expect((await call(server, viewer, "GET", `/collections/${name}/count`)).body).toEqual({ count: 0 });
  });

  it("keys_only and dry_run read no value; keys_only pages with limit and cursor like the items", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const all = await seeded(server, tenant, name);
    const { viewer, editor } = tenant.users;
    const sql = server.services.db.sql;
    let page: { results: string[]; end_offset: number; cursor: string | null } | undefined;
    const read = await valuesRead(sql, async () => {
      page = (await call(server, viewer, "GET", `/collections/${name}?keys_only=true&limit=5`)).body;
    });
    expect(page).toMatchObject({ results: all.slice(0, 5), end_offset: 5 });
    expect(read.length).toBeGreaterThan(0);
    expect(new Set(read)).toEqual(new Set([""]));
    const next = await call(server, viewer, "GET", `/collections/${name}?keys_only=1&cursor=${page!.cursor}`);
    expect(next.body).toEqual({ results: all.slice(5), end_offset: all.length, cursor: null });
    // The same cursor pages the items themselves.
    const items = await call(server, viewer, "GET", `/collections/${name}?cursor=${page!.cursor}`);
    expect(items.body.results.map((r: { key: string }) => r.key)).toEqual(all.slice(5));
    const dryRead = await valuesRead(sql, () =>
      call(server, editor, "DELETE", `/collections/${name}/p-*?dry_run=true`),
    );
    expect(new Set(dryRead)).toEqual(new Set([""]));
    // keys_only=false is the items; an exact key gives that key.
    const off = await call(server, viewer, "GET", `/collections/${name}/q-1?keys_only=false`);
    expect(off.body.results[0]).toMatchObject({ key: "q-1", value: { i: 1, text: "é" } });
    const exact = await call(server, viewer, "GET", `/collections/${name}/q-1?keys_only=true`);
    expect(exact.body).toEqual({ results: ["q-1"], end_offset: 1, cursor: null });
  });

  it("GET /collections lists the stored value bytes next to the item count", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const values = [{ a: "é" }, [1, 2], "x"];
    await seed(
      server,
      name,
      tenant.project.id,
      values.map((value, i) => ({ key: `k${i}`, value })),
    );
    const list = await call(
      server,
      tenant.users.viewer,
      "GET",
      `/collections?project_id=${tenant.project.id}`,
    );
    const bytes = values.reduce((n: number, v) => n + Buffer.byteLength(JSON.stringify(v)), 0);
    expect(list.body.results.find((c: { name: string }) => c.name === name)).toMatchObject({
      items: 3,
      bytes,
    });
  });

  it("`count` after the name is the count route; a key named count is reached percent-encoded", async ({
    server,
    tenant,
    keys,
  }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [
      { key: "count", value: "the key" },
      { key: "count/x", value: 2 },
      { key: "count/", value: 3 },
    ]);
    const { viewer, editor } = tenant.users;
    expect((await call(server, viewer, "GET", `/collections/${name}/count`)).body).toEqual({ count: 3 });
    const item = await call(server, viewer, "GET", `/collections/${name}/%63ount`);
    expect(item.body.results).toMatchObject([{ key: "count", value: "the key" }]);
    expect((await call(server, viewer, "GET", `/collections/${name}/count?key=count`)).body).toEqual({
      count: 1,
    });
    // Only the segment `count` itself is the route: longer keys are keys.
    for (const key of ["count/x", "count/"]) {
      const r = await call(server, viewer, "GET", `/collections/${name}/${key}`);
      expect(
        r.body.results.map((x: { key: string }) => x.key),
        key,
      ).toEqual([key]);
    }
    const wrongMethod = await call(server, editor, "DELETE", `/collections/${name}/count`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
    expect(await keys(name)).toEqual(["count", "count/x", "count/"]);
    const deleted = await call(
      server,
      editor,
      "DELETE",
      `/collections/${name}/${keyPath("count").replace("c", "%63")}`,
    );
    expect(deleted.body).toEqual({ keys: ["count"], deleted: 1 });
    expect(await keys(name)).toEqual(["count/x", "count/"]);
  });

  it("bad parameters are 400 naming them; no token is 401; a missing collection 404", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const { viewer, admin } = tenant.users;
    const bad: [string, string, string][] = [
      ["GET", `/collections/${name}?keys_only=yes`, "keys_only"],
      ["GET", `/collections/${name}/k*?keys_only=true&meta=true`, "keys_only"],
      ["GET", `/collections/${name}/count?limit=1`, "limit"],
      ["GET", `/collections/${name}/count?created_after=nope`, "created_after"],
      ["GET", `/collections/${name}/count?key=`, "key"],
      ["DELETE", `/collections/${name}/k*?dry_run=maybe`, "dry_run"],
      ["DELETE", `/collections/${name}/k*?max_affected=-1`, "max_affected"],
      ["DELETE", `/collections/${name}/k*?max_affected=1e2`, "max_affected"],
      ["DELETE", `/collections/${name}/k*?max_affected=51`, "max_affected"],
      ["DELETE", `/collections/${name}/k*?max_affected=1&max_affected=2`, "max_affected"],
    ];
    for (const [method, path, param] of bad) {
      const r = await call(server, admin, method, path);
      expect(r.status, path).toBe(400);
      expect(r.body.code, path).toBe("BAD_REQUEST");
      expect(r.body.message, path).toContain(`"${param}"`);
    }
    const both = await call(server, viewer, "GET", `/collections/${name}?keys_only=1&meta=1`);
    expect(both.body.message).toMatch(/keys_only.*meta/);
    expect(
      (await call(server, admin, "DELETE", `/collections/${name}/k*?max_affected=51`)).body.message,
    ).toContain("MAX_AFFECTED_LIMIT");
    for (const [method, path] of [
      ["GET", `/collections/${name}/count`],
      ["GET", `/collections/${name}?keys_only=true`],
      ["DELETE", `/collections/${name}/k*?dry_run=true`],
      ["DELETE", `/collections/${name}/k*?max_affected=5`],
    ] as const) {
      const r = await call(server, undefined, method, path);
      expect(r.status, path).toBe(401);
      expect(r.body.code, path).toBe("UNAUTHORIZED");
    }
    const missing = await call(server, viewer, "GET", `/collections/no-such-thing/count`);
    expect(missing.status).toBe(404);
  });

  it("a dry run needs the delete's permission: viewers never, editors not for everything", async ({
    server,
    tenant,
    keys,
  }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [{ key: "k1", value: 1 }]);
    const { viewer, editor, admin } = tenant.users;
    const denied: [TenantUser, string][] = [
      [viewer, `/collections/${name}/k*?dry_run=true`],
      [viewer, `/collections/${name}/k1?dry_run=true&max_affected=5`],
      [editor, `/collections/${name}?dry_run=true`],
      [editor, `/collections/${name}/**?dry_run=true`],
    ];
    for (const [user, path] of denied) {
      const r = await call(server, user, "DELETE", path);
      expect(r.status, path).toBe(403);
      expect(r.body.code, path).toBe("FORBIDDEN");
    }
    expect((await call(server, editor, "DELETE", `/collections/${name}/k*?dry_run=true`)).status).toBe(200);
    expect((await call(server, admin, "DELETE", `/collections/${name}?dry_run=true`)).status).toBe(200);
    // Reading is enough to count.
    expect((await call(server, viewer, "GET", `/collections/${name}/count`)).body).toEqual({ count: 1 });
    expect(await keys(name)).toEqual(["k1"]);
  });
});

describe("DELETE max_affected (REST)", () => {
  it("refuses with 409 and deletes nothing when more match; deletes when at most N match", async ({
    server,
    tenant,
    keys,
  }) => {
    const name = await tenant.collection();
    const all = await seeded(server, tenant, name);
    const { editor, admin } = tenant.users;
    const refused = await call(server, editor, "DELETE", `/collections/${name}/p-*?max_affected=5`);
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({
      code: "TOO_MANY_AFFECTED",
      message: "6 items match, more than max_affected (5): nothing was deleted",
    });
    expect(await keys(name)).toEqual(all);
    // A dry run with max_affected answers what the delete would: the same refusal.
    const dry = await call(server, editor, "DELETE", `/collections/${name}/p-*?max_affected=5&dry_run=true`);
    expect(dry.status).toBe(409);
    expect(dry.body).toEqual(refused.body);
    const everything = await call(server, admin, "DELETE", `/collections/${name}?max_affected=0`);
    expect(everything.status).toBe(409);
    expect(everything.body.message).toContain(`${all.length} items match`);
    expect(await keys(name)).toEqual(all);

    const exact = await call(server, editor, "DELETE", `/collections/${name}/p-*?max_affected=6`);
    expect(exact.status).toBe(200);
    expect(exact.body).toEqual({ keys: ["p-1", "p-2", "p-3", "p-4", "p-5", "p-6"], deleted: 6 });
    const none = await call(server, editor, "DELETE", `/collections/${name}/p-*?max_affected=0`);
    expect(none.body).toEqual({ keys: [], deleted: 0 });
    const timed = await call(server, editor, "DELETE", `/collections/${name}/q-*?max_affected=50`);
    expect(timed.body).toEqual({ keys: ["q-1", "q-2"], deleted: 2 });
    expect(await keys(name)).toEqual(["count"]);
  });

  it("the check and the delete agree while others write: a refused delete leaves every item", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const { editor } = tenant.users;
    const written: string[] = [];
    const deleted = new Set<string>();
    let refusals = 0;
    let n = 0;
    const writer = async () => {
      for (let round = 0; round < 15; round++) {
        const batch = Array.from({ length: 4 }, () => `w-${String(++n).padStart(4, "0")}`);
        const r = await call(
          server,
          editor,
          "POST",
          `/collections/${name}`,
          batch.map((key) => ({ key, value: round })),
        );
        expect(r.status).toBe(201);
        written.push(...batch);
      }
    };
    const guarded = async () => {
      for (let round = 0; round < 15; round++) {
        const r = await call(server, editor, "DELETE", `/collections/${name}/w-*?max_affected=6`);
        if (r.status === 409) {
          refusals++;
          expect(r.body.code).toBe("TOO_MANY_AFFECTED");
          expect(Number(/^(\d+) items match/.exec(r.body.message)![1])).toBeGreaterThan(6);
          continue;
        }
        expect(r.status).toBe(200);
        expect(r.body.deleted).toBeLessThanOrEqual(6);
        expect(r.body.keys).toHaveLength(r.body.deleted);
        for (const key of r.body.keys) deleted.add(key);
      }
    };
    await Promise.all([writer(), guarded(), guarded()]);
    // Every item written is either still there or listed by exactly one acknowledged delete.
    const left = (await call(server, tenant.users.viewer, "GET", `/collections/${name}?keys_only=true`)).body
      .results as string[];
    expect([...left, ...deleted].sort()).toEqual([...written].sort());
    expect(left.filter((k) => deleted.has(k))).toEqual([]);
    expect(refusals + deleted.size).toBeGreaterThan(0);
  });
});

describe("items.count, items.keys, items.delete dry_run / max_affected (tRPC)", () => {
  it("answer as REST does", async ({ server, tenant, client, keys }) => {
    const name = await tenant.collection();
    const all = await seeded(server, tenant, name);
    const viewer = client(tenant.users.viewer);
    const editor = client(tenant.users.editor);
    expect(await viewer.items.count.query({ name })).toEqual({ count: all.length });
    expect(await viewer.items.count.query({ name, key: "p-*", created_before: "2024-10-08" })).toEqual({
      count: 3,
    });
    const page = await viewer.items.keys.query({ name, key: "p-*", limit: 4 });
    expect(page).toMatchObject({ results: ["p-1", "p-2", "p-3", "p-4"], end_offset: 4 });
    expect(await viewer.items.keys.query({ name, key: "p-*", cursor: page.cursor! })).toEqual({
      results: ["p-5", "p-6"],
      end_offset: 6,
      cursor: null,
    });
    const dry = await editor.items.delete.mutate({ name, key: "q-*", dry_run: true });
    expect(dry).toEqual({ keys: ["q-1", "q-2"], deleted: 2, keys_truncated: false });
    expect(await keys(name)).toEqual(all);

    const error = async (work: () => Promise<unknown>) => {
      const e = await work().then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(TRPCClientError);
      return e as TRPCClientError<AppRouter>;
    };
    const refused = await error(() => editor.items.delete.mutate({ name, key: "p-*", max_affected: 2 }));
    expect(refused.data).toMatchObject({ code: "TOO_MANY_AFFECTED", httpStatus: 409 });
    expect(refused.message).toBe("6 items match, more than max_affected (2): nothing was deleted");
    expect(await keys(name)).toEqual(all);
    const forbidden = await error(() => viewer.items.delete.mutate({ name, key: "p-*", dry_run: true }));
    expect(forbidden.data?.code).toBe("FORBIDDEN");
    const tooHigh = await error(() => editor.items.delete.mutate({ name, key: "p-*", max_affected: 51 }));
    expect(tooHigh.data).toMatchObject({ code: "BAD_REQUEST", issues: [{ path: "max_affected" }] });
    const noMeta = await error(() =>
      viewer.items.keys.query({ name, meta: true } as Parameters<typeof viewer.items.keys.query>[0]),
    );
    expect(noMeta.data?.code).toBe("BAD_REQUEST");

    expect(await editor.items.delete.mutate({ name, key: "p-*", max_affected: 6 })).toEqual({
      keys: ["p-1", "p-2", "p-3", "p-4", "p-5", "p-6"],
      deleted: 6,
      keys_truncated: false,
    });
    expect(await viewer.items.count.query({ name })).toEqual({ count: 3 });
  });
});

import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { createTenant } from "../support/tenant.js";
import { call, keyPath, seed, setTimes } from "../support/items.js";

const keysOf = (body: { results: { key: string }[] }) => body.results.map((r) => r.key);

const it = test.extend("timeFiltered", { scope: "file" }, async ({ server, tenant }) => {
  // The collection of the "time filters" tests, and a GET of it that returns the keys.
  const name = await tenant.collection();
  await seed(
    server,
    name,
    tenant.project.id,
    ["d7", "d8a", "d8b", "d8c", "d9"].map((key) => ({ key, value: key })),
  );
  await setTimes(
    server,
    name,
    tenant.project.id,
    "d7",
    "2024-10-07T23:59:59.999999Z",
    "2024-10-09T00:00:00.000000Z",
  );
  await setTimes(
    server,
    name,
    tenant.project.id,
    "d8a",
    "2024-10-08T00:00:00.000000Z",
    "2024-10-08T12:00:00.000000Z",
  );
  await setTimes(
    server,
    name,
    tenant.project.id,
    "d8b",
    "2024-10-08T12:00:00.999999Z",
    "2024-10-08T11:59:59.999999Z",
  );
  await setTimes(
    server,
    name,
    tenant.project.id,
    "d8c",
    "2024-10-08T23:59:59.999999Z",
    "2024-10-08T12:00:01.000000Z",
  );
  await setTimes(
    server,
    name,
    tenant.project.id,
    "d9",
    "2024-10-09T00:00:00.000000Z",
    "2024-10-07T00:00:00.000000Z",
  );
  const get = async (q: string) => {
    const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?${q}`);
    expect(r.status).toBe(200);
    return keysOf(r.body);
  };
  return { name, get };
});

describe("GET /collections/{name}[/{key}]", () => {
  it("returns every item in insertion order with the documented shape, values as written", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const values = [{ a: 1, nested: [1, "two", null] }, "text", 12345678901234567890, null, [true], 1.5e300];
    await seed(
      server,
      name,
      tenant.project.id,
      values.map((value, i) => ({ key: `k${9 - i}`, value })),
    );
    const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(keysOf(r.body)).toEqual(["k9", "k8", "k7", "k6", "k5", "k4"]);
    expect(r.body.results.map((x: { value: unknown }) => x.value)).toEqual(values);
    // The stored JSON text goes to the wire unchanged: a big integer keeps its digits.
    await server.services.db.prisma
      .$executeRaw`UPDATE items SET value = '12345678901234567890123' WHERE key = 'k7' AND collection_id = (SELECT id FROM collections WHERE name = ${name})`;
    const again = await call(server, tenant.users.viewer, "GET", `/collections/${name}/k7`);
    expect(again.text).toContain('"value":12345678901234567890123,');
    expect(r.body.end_offset).toBe(6);
    expect(r.body.cursor).toBeNull();
    for (const item of r.body.results) {
      expect(Object.keys(item).sort()).toEqual(["created", "key", "updated", "value", "version"]);
      expect(item.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    }
  });

  it("fetches by exact key and by pattern; a key may contain '/' and special characters", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const keys = ["a/b", "a%b", "a_b", "a\\b", "a'b\"", "é😀", "ab", "xab"];
    await seed(
      server,
      name,
      tenant.project.id,
      keys.map((key) => ({ key, value: key })),
    );
    for (const key of keys) {
      const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}/${keyPath(key)}`);
      expect(r.status).toBe(200);
      expect(keysOf(r.body)).toEqual([key]);
    }
    const slash = await call(server, tenant.users.viewer, "GET", `/collections/${name}/a/b`);
    expect(keysOf(slash.body)).toEqual(["a/b"]);
    const prefix = await call(server, tenant.users.viewer, "GET", `/collections/${name}/a*`);
    expect(keysOf(prefix.body)).toEqual(["a/b", "a%b", "a_b", "a\\b", "a'b\"", "ab"]);
    const like = await call(server, tenant.users.viewer, "GET", `/collections/${name}/${keyPath("a%")}*`);
    expect(keysOf(like.body)).toEqual(["a%b"]);
    const none = await call(server, tenant.users.viewer, "GET", `/collections/${name}/nope`);
    expect(none.body).toEqual({ results: [], end_offset: 0, cursor: null });
  });

  it("limit, offset and end_offset", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: i })),
    );
    const page = await call(server, tenant.users.viewer, "GET", `/collections/${name}?limit=3&offset=4`);
    expect(keysOf(page.body)).toEqual(["k4", "k5", "k6"]);
    expect(page.body.end_offset).toBe(7);
    expect(typeof page.body.cursor).toBe("string");
    const exact = await call(server, tenant.users.viewer, "GET", `/collections/${name}?limit=10`);
    expect(exact.body.results).toHaveLength(10);
    expect(exact.body.cursor).toBeNull();
    const tail = await call(server, tenant.users.viewer, "GET", `/collections/${name}?offset=8`);
    expect(keysOf(tail.body)).toEqual(["k8", "k9"]);
    expect(tail.body.end_offset).toBe(10);
    const past = await call(server, tenant.users.viewer, "GET", `/collections/${name}?offset=50`);
    expect(past.body).toEqual({ results: [], end_offset: 50, cursor: null });
  });

  it("cursor continuation has no gaps or duplicates while others write between pages", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      Array.from({ length: 25 }, (_, i) => ({ key: `k${String(i).padStart(3, "0")}`, value: i })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let expectedOffset = 0;
    do {
      const q: string = cursor ? `limit=7&cursor=${cursor}` : "limit=7";
      const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?${q}`);
      expect(r.status).toBe(200);
      seen.push(...keysOf(r.body));
      expectedOffset += r.body.results.length;
      expect(r.body.end_offset).toBe(expectedOffset);
      cursor = r.body.cursor;
      pages++;
      // Between pages: a new key (appended), an update of an old key (stays in place) and a deletion of a read key.
      await call(server, tenant.users.editor, "POST", `/collections/${name}`, [
        { key: `new${pages}`, value: pages },
        { key: "k000", value: "updated" },
      ]);
      if (pages === 2) await call(server, tenant.users.editor, "DELETE", `/collections/${name}/k001`);
    } while (cursor);
    const expected = [
      ...Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(3, "0")}`),
      ...Array.from({ length: pages }, (_, i) => `new${i + 1}`),
    ];
    // Every page ends before the last write of that iteration, so the last "newN" was written after the end.
    expect(seen).toEqual(expected.slice(0, expected.length - 1));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("cursor is tied to its query, and cursor with offset is 400", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const other = await tenant.collection();
    await seed(server, name, tenant.project.id, [
      { key: "a", value: 1 },
      { key: "b", value: 2 },
    ]);
    const first = await call(server, tenant.users.viewer, "GET", `/collections/${name}?limit=1`);
    const cursor = first.body.cursor as string;
    const both = await call(
      server,
      tenant.users.viewer,
      "GET",
      `/collections/${name}?cursor=${cursor}&offset=1`,
    );
    expect(both.status).toBe(400);
    expect(both.body.message).toMatch(/cursor/);
    for (const path of [
      `/collections/${other}?cursor=${cursor}`,
      `/collections/${name}/a*?cursor=${cursor}`,
      `/collections/${name}?cursor=garbage`,
    ]) {
      const r = await call(server, tenant.users.viewer, "GET", path);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: "BAD_REQUEST", issues: [{ path: "cursor" }] });
    }
    const next = await call(server, tenant.users.viewer, "GET", `/collections/${name}?cursor=${cursor}`);
    expect(keysOf(next.body)).toEqual(["b"]);
    expect(next.body.end_offset).toBe(2);
  });

  it("meta=true adds _meta to object values only", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [
      { key: "o", value: { a: 1 } },
      { key: "s", value: "str" },
      { key: "e", value: {} },
    ]);
    for (const flag of ["true", "1"]) {
      const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?meta=${flag}`);
      const [o, s, e] = r.body.results;
      expect(o.value).toEqual({
        a: 1,
        _meta: { created: o.created, updated: o.updated, version: o.version },
      });
      expect(s.value).toBe("str");
      expect(e.value).toEqual({ _meta: { created: e.created, updated: e.updated, version: e.version } });
    }
    for (const flag of ["false", "0"]) {
      const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?meta=${flag}`);
      expect(r.body.results[0].value).toEqual({ a: 1 });
    }
  });

  describe("time filters", () => {
    it("a date alone means that UTC day, on both sides", async ({ timeFiltered: { get } }) => {
      expect(await get("created_before=2024-10-08")).toEqual(["d7", "d8a", "d8b", "d8c"]);
      expect(await get("created_after=2024-10-08")).toEqual(["d8a", "d8b", "d8c", "d9"]);
      expect(await get("created_after=2024-10-08&created_before=2024-10-08")).toEqual(["d8a", "d8b", "d8c"]);
    });
    it("a timestamp at second precision: *_after from its start, *_before includes the whole second", async ({
      timeFiltered: { get },
    }) => {
      expect(await get("created_before=2024-10-08T12:00:00Z")).toEqual(["d7", "d8a", "d8b"]);
      expect(await get("created_before=2024-10-08T12:00:00.5Z")).toEqual(["d7", "d8a"]);
      expect(await get("updated_after=2024-10-08T12:00:00Z")).toEqual(["d7", "d8a", "d8c"]);
      expect(await get("updated_before=2024-10-08T12:00:00Z")).toEqual(["d8a", "d8b", "d9"]);
      expect(await get("updated_after=2024-10-08T12:00:00Z&updated_before=2024-10-08T12:00:00Z")).toEqual([
        "d8a",
      ]);
    });
    it("offsets, and no offset means UTC", async ({ timeFiltered: { get } }) => {
      expect(await get("created_after=2024-10-08T14:00:00%2B02:00")).toEqual(["d8b", "d8c", "d9"]);
      expect(await get("created_before=2024-10-08T00:00:00")).toEqual(["d7", "d8a"]);
    });
    it("combines with patterns", async ({ server, tenant, timeFiltered: { name } }) => {
      const r = await call(
        server,
        tenant.users.viewer,
        "GET",
        `/collections/${name}/d8*?updated_after=2024-10-08T12:00:00Z`,
      );
      expect(keysOf(r.body)).toEqual(["d8a", "d8c"]);
    });
  });

  describe("400 naming the parameter", () => {
    const cases: [string, string][] = [
      ["limit=0", "limit"],
      ["limit=-1", "limit"],
      ["limit=abc", "limit"],
      ["limit=", "limit"],
      ["limit=1.5", "limit"],
      ["offset=-1", "offset"],
      ["offset=x", "offset"],
      ["meta=yes", "meta"],
      ["created_after=2024-13-01", "created_after"],
      ["created_before=yesterday", "created_before"],
      ["updated_after=2024-02-30", "updated_after"],
      ["updated_before=2024-10-08T25:00Z", "updated_before"],
      ["project_id=nope", "project_id"],
      ["bogus=1", "bogus"],
      ["limit=1&limit=2", "limit"],
      ["limit=%FF", "limit"],
    ];
    it.for(cases)("%s", async ([q, param], { server, tenant }) => {
      const name = "any-name";
      const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?${q}`);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe("BAD_REQUEST");
      expect(r.body.message).toContain(`"${param}"`);
      expect(r.body.issues.map((i: { path: string }) => i.path)).toContain(param);
    });
    it("a too long or invalid key pattern, or invalid name", async ({ server, tenant }) => {
      const name = await tenant.collection();
      const long = await call(
        server,
        tenant.users.viewer,
        "GET",
        `/collections/${name}/${"x".repeat(server.services.env.MAX_PATTERN_LENGTH + 1)}`,
      );
      expect(long.status).toBe(400);
      expect(long.body.message).toMatch(/MAX_PATTERN_LENGTH/);
      const ctl = await call(server, tenant.users.viewer, "GET", `/collections/${name}/a%00b`);
      expect(ctl.status).toBe(400);
      expect(ctl.body.issues[0].path).toBe("key");
      const badUtf8 = await call(server, tenant.users.viewer, "GET", `/collections/${name}/%C3%28`);
      expect(badUtf8.status).toBe(400);
      const badName = await call(server, tenant.users.viewer, "GET", `/collections/Not_Valid`);
      expect(badName.status).toBe(400);
      expect(badName.body.issues[0].path).toBe("name");
    });
  });

  it("401, 403-free reads for every role, 404 for missing or invisible, 409 when ambiguous", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    expect((await call(server, undefined, "GET", `/collections/${name}`)).status).toBe(401);
    expect(
      (
        await call(
          server,
          { ...tenant.users.viewer, headers: { authorization: "Bearer nope" } },
          "GET",
          `/collections/${name}`,
        )
      ).status,
    ).toBe(401);
    for (const role of ["owner", "admin", "editor", "viewer"] as const) {
      expect((await call(server, tenant.users[role], "GET", `/collections/${name}`)).status).toBe(200);
    }
    const hidden = await call(server, tenant.outsider, "GET", `/collections/${name}`);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual({ code: "NOT_FOUND", message: `Collection '${name}' not found` });
    expect((await call(server, tenant.users.viewer, "GET", `/collections/does-not-exist`)).status).toBe(404);

    const second = await createTenant(server.services);
    try {
      await server.services.db.prisma.membership.create({
        data: { userId: tenant.users.viewer.id, projectId: second.project.id, role: "viewer" },
      });
      await second.collection(name);
      const fresh = await server.services.auth.createUserToken({ userId: tenant.users.viewer.id });
      const viewer = { ...tenant.users.viewer, headers: { authorization: `Bearer ${fresh.token}` } };
      const ambiguous = await call(server, viewer, "GET", `/collections/${name}`);
      expect(ambiguous.status).toBe(409);
      expect(ambiguous.body.message).toMatch(/project_id/);
      const narrowed = await call(
        server,
        viewer,
        "GET",
        `/collections/${name}?project_id=${second.project.id}`,
      );
      expect(narrowed.status).toBe(200);
    } finally {
      await second.cleanup();
    }
  });
});

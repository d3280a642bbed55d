import { describe, expect } from "vitest";
import { createCollection } from "../../server/services/directory.js";
import { it } from "../support/fixtures.js";
import { call, seed, setTimes } from "../support/items.js";
import { lightningPath as lp, rawChunks } from "../support/lightning.js";

// The behaviours of OpenFn Lightning's collections controller (SPEC §5), status by status.

const keysOf = (body: { items: { key: string }[] }) => body.items.map((i) => i.key);
const numbered = (n: number, prefix = "foo") =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i + 1}`, value: `bar${i + 1}` }));

describe("authentication and visibility", () => {
  it("401 {error: Unauthorized} without a token or with a bad one", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const none = await call(server, undefined, "GET", lp(name));
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: "Unauthorized" });
    const bad = await fetch(server.url + lp(name, "/k"), {
      headers: { authorization: "Bearer not.a.token" },
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: "Unauthorized" });
  });

  it("404 {error: Not Found} for a missing collection, one the caller cannot see, or an impossible name", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    for (const [user, path] of [
      [tenant.users.editor, lp("misspelled-collection", "/foo")],
      [tenant.outsider, lp(name)],
      [tenant.users.editor, lp("Not_A_Name", "/foo")],
    ] as const) {
      const r = await call(server, user, "GET", path);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: "Not Found" });
    }
    for (const [method, path, body] of [
      ["PUT", lp("misspelled-collection", "/baz"), { value: "qux" }],
      ["POST", lp("misspelled-collection"), { items: [{ key: "baz", value: "qux" }] }],
      ["DELETE", lp("misspelled-collection", "/foo"), undefined],
    ] as const) {
      const r = await call(server, tenant.users.editor, method, path, body);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: "Not Found" });
    }
  });

  it("403 {error: Forbidden} when the role does not allow the action", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const put = await call(server, tenant.users.viewer, "PUT", lp(name, "/k"), { value: "v" });
    expect(put.status).toBe(403);
    expect(put.body).toEqual({ error: "Forbidden" });
    const all = await call(server, tenant.users.editor, "DELETE", lp(name));
    expect(all.status).toBe(403);
    expect(all.body).toEqual({ error: "Forbidden" });
  });

  it("409 telling to add project_id when the name is in several projects; project_id narrows it", async ({
    server,
    tenant,
  }) => {
    const { prisma } = server.services.db;
    const name = await tenant.collection("shared-collection");
    const other = await prisma.project.create({ data: { name: `other-${tenant.project.name}` } });
    try {
      await prisma.membership.create({
        data: { userId: tenant.users.editor.id, projectId: other.id, role: "editor" },
      });
      await createCollection(prisma, other.id, name);
      for (const path of [lp(name), lp(name, "/some-key")]) {
        const r = await call(server, tenant.users.editor, "GET", path);
        expect(r.status).toBe(409);
        expect(Object.keys(r.body)).toEqual(["error"]);
        expect(r.body.error).toContain("?project_id=");
      }
      const put = await call(server, tenant.users.editor, "PUT", lp(name, `/k?project_id=${other.id}`), {
        value: "there",
      });
      expect(put.body).toEqual({ upserted: 1, error: null });
      const here = await call(
        server,
        tenant.users.editor,
        "GET",
        lp(name, `/k?project_id=${tenant.project.id}`),
      );
      expect(here.status).toBe(204);
      const there = await call(server, tenant.users.editor, "GET", lp(name, `/k?project_id=${other.id}`));
      expect(there.body.value).toBe("there");
    } finally {
      await prisma.project.delete({ where: { id: other.id } });
    }
  });

  it("a run token reads, writes and deletes everything in its project", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const { token } = await server.services.auth.createRunToken({ projectId: tenant.project.id });
    const run = { id: "run", email: "", token, headers: { authorization: `Bearer ${token}` } };
    expect((await call(server, run, "POST", lp(name), { items: numbered(3) })).body).toEqual({
      upserted: 3,
      error: null,
    });
    expect((await call(server, run, "GET", lp(name, "/foo2"))).body.value).toBe("bar2");
    expect((await call(server, run, "DELETE", lp(name))).body).toEqual({
      key: null,
      deleted: 3,
      error: null,
    });
  });
});

describe("GET /{name}/{key}", () => {
  it("returns the item, or 204 with an empty body when the key is missing", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [{ key: "foo", value: "bar" }]);
    const r = await call(server, tenant.users.viewer, "GET", lp(name, "/foo"));
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(["created", "key", "updated", "value"]);
    expect(r.body).toMatchObject({ key: "foo", value: "bar" });
    expect(r.body.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const missing = await call(server, tenant.users.viewer, "GET", lp(name, "/some-unexisting-key"));
    expect(missing.status).toBe(204);
    expect(missing.text).toBe("");
  });

  it("percent-decodes the key, which may contain '/' and '*' (taken literally)", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    expect(
      (await call(server, tenant.users.editor, "PUT", lp(name, "/a%2Fb%20c"), { value: "1" })).status,
    ).toBe(200);
    expect((await call(server, tenant.users.editor, "PUT", lp(name, "/x*"), { value: "star" })).status).toBe(
      200,
    );
    await seed(server, name, tenant.project.id, [{ key: "xy", value: "y" }]);
    expect((await call(server, tenant.users.viewer, "GET", lp(name, "/a/b%20c"))).body.key).toBe("a/b c");
    expect((await call(server, tenant.users.viewer, "GET", lp(name, "/x*"))).body.value).toBe("star");
    expect((await call(server, tenant.users.editor, "DELETE", lp(name, "/x*"))).body).toEqual({
      key: "x*",
      deleted: 1,
      error: null,
    });
    expect((await call(server, tenant.users.viewer, "GET", lp(name, "/xy"))).status).toBe(200);
  });

  it("400 {error: Bad Request} for a key that cannot exist (an unused parameter is ignored, SPEC §5)", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    expect((await call(server, tenant.users.viewer, "GET", lp(name, "/k?limit=3"))).status).toBe(204);
    for (const path of [lp(name, `/${"x".repeat(256)}`), lp(name, "/a%01b"), lp(name, "/%E0%A4%A")]) {
      const r = await call(server, tenant.users.viewer, "GET", path);
      expect(r.status, path).toBe(400);
      expect(r.body).toEqual({ error: "Bad Request" });
    }
  });
});

describe("PUT /{name}/{key}", () => {
  it("inserts, then updates keeping created", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const first = await call(server, tenant.users.editor, "PUT", lp(name, "/baz"), { value: "qux" });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ upserted: 1, error: null });
    const before = (await call(server, tenant.users.viewer, "GET", lp(name, "/baz"))).body;
    const again = await call(server, tenant.users.editor, "PUT", lp(name, "/baz"), { value: "qux2" });
    expect(again.body).toEqual({ upserted: 1, error: null });
    const after = (await call(server, tenant.users.viewer, "GET", lp(name, "/baz"))).body;
    expect(after.value).toBe("qux2");
    expect(after.created).toBe(before.created);
    expect(after.updated > before.updated).toBe(true);
  });

  it("422 without a string value; 415 and 400 for a body that is not JSON", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const missing = await call(server, tenant.users.editor, "PUT", lp(name, "/k"), {});
    expect(missing.status).toBe(422);
    expect(missing.body).toEqual({ upserted: 0, error: "Missing required field: value" });
    const notString = await call(server, tenant.users.editor, "PUT", lp(name, "/k"), { value: { a: 1 } });
    expect(notString.status).toBe(422);
    expect(notString.body.upserted).toBe(0);
    expect(notString.body.error).toMatch(/^Invalid field value/);
    const tooLong = await call(server, tenant.users.editor, "PUT", lp(name, `/${"k".repeat(256)}`), {
      value: "v",
    });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.error).toMatch(/MAX_KEY_LENGTH/);
    const text = await fetch(server.url + lp(name, "/k"), {
      method: "PUT",
      headers: { ...tenant.users.editor.headers, "content-type": "text/plain" },
      body: "v",
    });
    expect(text.status).toBe(415);
    expect(Object.keys((await text.json()) as object)).toEqual(["error"]);
    const broken = await call(server, tenant.users.editor, "PUT", lp(name, "/k"), "{not json");
    expect(broken.status).toBe(400);
    expect(broken.body).toEqual({ error: "Bad Request" });
    expect((await call(server, tenant.users.viewer, "GET", lp(name, "/k"))).status).toBe(204);
  });
});

describe("POST /{name}", () => {
  it("inserts 1,000 items in one request, all sharing one timestamp", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const r = await call(server, tenant.users.editor, "POST", lp(name), { items: numbered(1000) });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ upserted: 1000, error: null });
    const page = await call(server, tenant.users.viewer, "GET", lp(name, "?limit=1000"));
    expect(page.body.cursor).toBeNull();
    expect(page.body.items).toHaveLength(1000);
    expect(new Set(page.body.items.map((i: { created: string }) => i.created)).size).toBe(1);
    expect(new Set(page.body.items.map((i: { updated: string }) => i.updated)).size).toBe(1);
  });

  it("upserts over existing items", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, numbered(3));
    const r = await call(server, tenant.users.editor, "POST", lp(name), {
      items: numbered(10).map((i) => ({ ...i, value: i.value + "!" })),
    });
    expect(r.body).toEqual({ upserted: 10, error: null });
    expect((await call(server, tenant.users.viewer, "GET", lp(name, "/foo1"))).body.value).toBe("bar1!");
  });

  it("422 Duplicate key found when a key is given twice, writing nothing", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, numbered(3));
    const r = await call(server, tenant.users.editor, "POST", lp(name), {
      items: [
        { key: "foo9", value: "x" },
        { key: "foo1", value: "bar1" },
        { key: "foo1", value: "bar1" },
      ],
    });
    expect(r.status).toBe(422);
    expect(r.body).toEqual({ upserted: 0, error: "Duplicate key found" });
    expect((await call(server, tenant.users.viewer, "GET", lp(name, "/foo9"))).status).toBe(204);
  });

  it("422 without items, with a non-string value, or with an invalid key, writing nothing", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const none = await call(server, tenant.users.editor, "POST", lp(name), {});
    expect(none.status).toBe(422);
    expect(none.body).toEqual({ upserted: 0, error: "Missing required field: items" });
    const badValue = await call(server, tenant.users.editor, "POST", lp(name), {
      items: [
        { key: "ok", value: "v" },
        { key: "n", value: 5 },
      ],
    });
    expect(badValue.status).toBe(422);
    expect(badValue.body.error).toMatch(/^Invalid field items\[1\]\.value/);
    const badKey = await call(server, tenant.users.editor, "POST", lp(name), {
      items: [
        { key: "ok", value: "v" },
        { key: "a\u0007", value: "v" },
      ],
    });
    expect(badKey.status).toBe(422);
    expect(badKey.body.error).toMatch(/^item 1 .*control character/);
    expect((await call(server, tenant.users.viewer, "GET", lp(name, "/ok"))).status).toBe(204);
  });
});

describe("DELETE", () => {
  it("deletes an item by key; a missing key is 200 with Item Not Found", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [{ key: "foo", value: "bar" }]);
    const r = await call(server, tenant.users.editor, "DELETE", lp(name, "/foo"));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ key: "foo", deleted: 1, error: null });
    const again = await call(server, tenant.users.editor, "DELETE", lp(name, "/foo"));
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ key: "foo", deleted: 0, error: "Item Not Found" });
  });

  it("deletes the items matching ?key=<pattern>, and everything without key (admins)", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [
      { key: "foo:123:bar1", value: "value1" },
      { key: "foo:234:boo", value: "value2" },
      { key: "foo:345:bar2", value: "value3" },
      { key: "other", value: "value4" },
    ]);
    const r = await call(
      server,
      tenant.users.editor,
      "DELETE",
      lp(name, `?key=${encodeURIComponent("foo:*:bar*")}`),
    );
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ key: "foo:*:bar*", deleted: 2, error: null });
    const all = await call(server, tenant.users.admin, "DELETE", lp(name));
    expect(all.body).toEqual({ key: null, deleted: 2, error: null });
    expect((await call(server, tenant.users.viewer, "GET", lp(name))).body).toEqual({
      items: [],
      cursor: null,
    });
  });

  it("400 for a date alone (a filter the route uses is checked)", async ({ server, tenant }) => {
    const name = await tenant.collection();
    for (const q of ["?key=a*&created_before=2024-10-08", "?key=a*&limit=1000&created_before=2024-10-08"]) {
      const r = await call(server, tenant.users.admin, "DELETE", lp(name, q));
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: "Bad Request" });
    }
  });
});

describe("GET /{name}", () => {
  it("with no results", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const r = await call(server, tenant.users.viewer, "GET", lp(name));
    expect(r.status).toBe(200);
    expect(r.text).toBe('{"items":[],"cursor":null}');
  });

  it("using a key pattern", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [
      { key: "foo:bar:baz", value: "1" },
      { key: "foo:bar:baz:quux", value: "2" },
      { key: "x:bar:baz", value: "3" },
    ]);
    const prefix = await call(
      server,
      tenant.users.viewer,
      "GET",
      lp(name, `?key=${encodeURIComponent("foo:bar:*")}`),
    );
    expect(prefix.body).toMatchObject({
      items: [
        { key: "foo:bar:baz", value: "1" },
        { key: "foo:bar:baz:quux", value: "2" },
      ],
      cursor: null,
    });
    const infix = await call(
      server,
      tenant.users.viewer,
      "GET",
      lp(name, `?key=${encodeURIComponent("foo:*:baz")}`),
    );
    expect(keysOf(infix.body)).toEqual(["foo:bar:baz"]);
    expect(infix.body.cursor).toBeNull();
  });

  it("time filters: *_after is >=, *_before is <, full date-times only", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      ["foo:bar:baz", "foo:moon:baz", "foo:bar:baz:out", "foo:in:baz"].map((key) => ({ key, value: key })),
    );
    const t = "2024-10-08T12:00:00.500000Z";
    await setTimes(
      server,
      name,
      tenant.project.id,
      "foo:bar:baz",
      "2024-10-08T11:00:00.000000Z",
      "2024-10-08T11:00:00.000000Z",
    );
    await setTimes(server, name, tenant.project.id, "foo:moon:baz", t, t);
    await setTimes(server, name, tenant.project.id, "foo:bar:baz:out", t, t);
    await setTimes(
      server,
      name,
      tenant.project.id,
      "foo:in:baz",
      "2024-10-08T11:30:00.000000Z",
      "2024-10-08T13:00:00.000000Z",
    );
    const get = async (q: string) => {
      const r = await call(
        server,
        tenant.users.viewer,
        "GET",
        lp(name, `?key=${encodeURIComponent("foo:*:baz")}&${q}`),
      );
      expect(r.status, q).toBe(200);
      return keysOf(r.body);
    };
    expect(await get(`created_after=${t}`)).toEqual(["foo:moon:baz"]);
    expect(await get(`created_before=${t}`)).toEqual(["foo:bar:baz", "foo:in:baz"]);
    expect(await get("created_after=2024-10-08T11:00:00Z&created_before=2024-10-08T11:30:00Z")).toEqual([
      "foo:bar:baz",
    ]);
    expect(await get(`created_after=${encodeURIComponent("2024-10-08T13:30:00+02:00")}`)).toEqual([
      "foo:moon:baz",
      "foo:in:baz",
    ]);
    expect(await get("updated_after=2024-10-08T12:00:01Z")).toEqual(["foo:in:baz"]);
    expect(await get(`updated_before=${t}`)).toEqual(["foo:bar:baz"]);
    for (const bad of [
      "updated_after=2024-10-08",
      "created_after=2024-10-08T12:00:00",
      "created_before=2024-13-01T00:00:00Z",
      "created_after=yesterday",
    ]) {
      const r = await call(server, tenant.users.viewer, "GET", lp(name, `?${bad}`));
      expect(r.status, bad).toBe(400);
      expect(r.body).toEqual({ error: "Bad Request" });
    }
  });

  it("400 {error: Bad Request} for unknown or malformed parameters", async ({ server, tenant }) => {
    const name = await tenant.collection();
    for (const q of [
      "?offset=3",
      "?limit=0",
      "?limit=-1",
      "?limit=abc",
      "?cursor=%22x%22",
      "?cursor=bm90YW51bWJlcg",
      "?meta=true",
      "?project_id=nope",
      "?key=",
    ]) {
      const r = await call(server, tenant.users.viewer, "GET", lp(name, q));
      expect(r.status, q).toBe(400);
      expect(r.body).toEqual({ error: "Bad Request" });
    }
  });

  it("up to the default limit of 1000, then a cursor to the rest", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, numbered(1001));
    const first = await call(server, tenant.users.viewer, "GET", lp(name));
    expect(first.body.items).toHaveLength(1000);
    expect(first.body.items[999].key).toBe("foo1000");
    expect(first.body.cursor).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    const rest = await call(server, tenant.users.viewer, "GET", lp(name, `?cursor=${first.body.cursor}`));
    expect(keysOf(rest.body)).toEqual(["foo1001"]);
    expect(rest.body.cursor).toBeNull();
  });

  it("limits of 510, 250 and 511 over 511 items, with the right cursors", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const all = numbered(511);
    await seed(server, name, tenant.project.id, all);
    const page = async (q: string) => (await call(server, tenant.users.viewer, "GET", lp(name, q))).body;
    const p510 = await page("?limit=510");
    expect(keysOf(p510)).toEqual(all.slice(0, 510).map((i) => i.key));
    expect(typeof p510.cursor).toBe("string");
    expect(keysOf(await page(`?cursor=${p510.cursor}`))).toEqual(["foo511"]);
    const p250 = await page("?limit=250");
    expect(keysOf(p250)).toEqual(all.slice(0, 250).map((i) => i.key));
    const p250b = await page(`?limit=250&cursor=${p250.cursor}`);
    expect(keysOf(p250b)).toEqual(all.slice(250, 500).map((i) => i.key));
    const p250c = await page(`?limit=250&cursor=${p250b.cursor}`);
    expect(keysOf(p250c)).toEqual(all.slice(500).map((i) => i.key));
    expect(p250c.cursor).toBeNull();
    for (const q of ["?limit=511", "?limit=512"]) {
      const p = await page(q);
      expect(p.items).toHaveLength(511);
      expect(p.cursor).toBeNull();
    }
  });

  it("a page of exactly the 1000 remaining items ends with cursor: null", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, numbered(2000));
    const first = await call(server, tenant.users.viewer, "GET", lp(name, "?limit=1000"));
    expect(typeof first.body.cursor).toBe("string");
    const second = await call(
      server,
      tenant.users.viewer,
      "GET",
      lp(name, `?limit=1000&cursor=${first.body.cursor}`),
    );
    expect(second.body.items).toHaveLength(1000);
    expect(second.body.items[0].key).toBe("foo1001");
    expect(second.body.cursor).toBeNull();
  });

  it("a cursor keeps its place while others write and works with a pattern", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [...numbered(150, "a"), ...numbered(50, "b")]);
    const first = await call(server, tenant.users.viewer, "GET", lp(name, "?key=a*&limit=100"));
    await call(server, tenant.users.editor, "POST", lp(name), {
      items: [
        { key: "a-late", value: "x" },
        { key: "a1", value: "changed" },
      ],
    });
    const second = await call(
      server,
      tenant.users.viewer,
      "GET",
      lp(name, `?key=a*&limit=100&cursor=${first.body.cursor}`),
    );
    expect(keysOf(second.body)).toEqual([
      ...numbered(150, "a")
        .slice(100)
        .map((i) => i.key),
      "a-late",
    ]);
    expect(second.body.cursor).toBeNull();
  });

  it("writes the tail with the cursor as one piece, after the items", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      numbered(1500).map((i) => ({ ...i, value: i.value.repeat(40) })),
    );
    const r = await rawChunks(server, lp(name), tenant.users.viewer.headers.authorization!);
    expect(r.status).toBe(200);
    const withCursor = r.chunks.filter((c) => c.includes('"cursor"'));
    expect(withCursor).toHaveLength(1);
    expect(withCursor[0]).toMatch(/\],"cursor":"[A-Za-z0-9_-]+"\}$/);
    const body = JSON.parse(r.chunks.join(""));
    expect(body.items).toHaveLength(1000);
  });
});

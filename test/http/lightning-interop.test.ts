import { describe, expect } from "vitest";
import { upsertItems } from "../../server/services/items.js";
import { it } from "../support/fixtures.js";
import { call, keyPath, seed } from "../support/items.js";
import { lightningPath as lp } from "../support/lightning.js";

// SPEC §5, interop: values are strings on the Lightning wire; the store keeps JSON.

describe("interop between the Lightning dialect and the primary API", () => {
  it("a string written through Lightning is that JSON string in §3, whatever it contains", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const strings = {
      plain: "hello",
      json: '{"a":1}',
      quoted: '"already quoted"',
      empty: "",
      unicode: "é😀\n\t\\",
    };
    const r = await call(server, tenant.users.editor, "POST", lp(name), {
      items: Object.entries(strings).map(([key, value]) => ({ key, value })),
    });
    expect(r.body).toEqual({ upserted: 5, error: null });
    for (const [key, value] of Object.entries(strings)) {
      const primary = await call(server, tenant.users.viewer, "GET", `/collections/${name}/${keyPath(key)}`);
      expect(primary.body.results).toHaveLength(1);
      expect(primary.body.results[0].value).toBe(value);
      const back = await call(server, tenant.users.viewer, "GET", lp(name, `/${keyPath(key)}`));
      expect(back.body.value).toBe(value);
    }
    const stored = await server.services.db.prisma.$queryRaw<{ value: string }[]>`
      SELECT value FROM items WHERE key = 'json' AND collection_id = (SELECT id FROM collections WHERE name = ${name})`;
    expect(stored[0]!.value).toBe(JSON.stringify('{"a":1}'));
  });

  it("a non-string JSON value written through §3 is its JSON text, as a string, here", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const values: Record<string, unknown> = {
      obj: { a: 1, b: [true, null] },
      arr: [1, "two"],
      num: 12.5,
      yes: true,
      nul: null,
      str: "just text",
    };
    const r = await call(
      server,
      tenant.users.editor,
      "POST",
      `/collections/${name}`,
      Object.entries(values).map(([key, value]) => ({ key, value })),
    );
    expect(r.status).toBe(201);
    for (const [key, value] of Object.entries(values)) {
      const one = await call(server, tenant.users.viewer, "GET", lp(name, `/${key}`));
      expect(one.body.value).toBe(typeof value === "string" ? value : JSON.stringify(value));
    }
    const list = await call(server, tenant.users.viewer, "GET", lp(name));
    expect(list.body.items.map((i: { value: string }) => i.value)).toEqual([
      '{"a":1,"b":[true,null]}',
      '[1,"two"]',
      "12.5",
      "true",
      "null",
      "just text",
    ]);
  });

  it("returns the stored JSON text unchanged (big numbers keep their digits)", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const c = await server.services.db.prisma.collection.findFirstOrThrow({
      where: { name, projectId: tenant.project.id },
    });
    await upsertItems(server.services.db.sql, c.id, [
      { key: "big", valueJson: '{"n":12345678901234567890}' },
    ]);
    const one = await call(server, tenant.users.viewer, "GET", lp(name, "/big"));
    expect(one.body.value).toBe('{"n":12345678901234567890}');
    const list = await call(server, tenant.users.viewer, "GET", lp(name));
    expect(list.text).toContain(String.raw`"value":"{\"n\":12345678901234567890}"`);
    await seed(server, name, tenant.project.id, [{ key: "seeded", value: { x: 1 } }]);
    expect((await call(server, tenant.users.viewer, "GET", lp(name, "/seeded"))).body.value).toBe('{"x":1}');
  });
});

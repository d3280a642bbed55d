import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { startTestServer } from "../support/server.js";
import { createTenant } from "../support/tenant.js";
import { call } from "../support/items.js";

/** `all(name)`: the items of a collection, as its viewer lists them. */
const it = test.extend(
  "all",
  { scope: "file" },
  ({ server, tenant }) =>
    async (name: string) =>
      (await call(server, tenant.users.viewer, "GET", `/collections/${name}`)).body.results,
);
it.override({
  serverEnv: {
    MAX_ITEMS_PER_REQUEST: "50",
    MAX_VALUE_CHARS: "100",
    MAX_KEY_LENGTH: "10",
    MAX_BODY_BYTES: "4096",
  },
});

describe("POST /collections/{name}", () => {
  it("creates (201) then updates (200); created is kept, updated moves; one timestamp per request", async ({
    server,
    tenant,
    all,
  }) => {
    const name = await tenant.collection();
    const first = await call(server, tenant.users.editor, "POST", `/collections/${name}`, [
      { key: "a", value: 1 },
      { key: "b", value: { x: [1] }, extra: "ignored" },
    ]);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ upserted: 2, errors: [] });
    const [a1, b1] = await all(name);
    expect(a1.created).toBe(a1.updated);
    expect(b1.created).toBe(a1.created);

    const second = await call(server, tenant.users.editor, "POST", `/collections/${name}`, {
      items: [{ key: "a", value: 2 }],
    });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ upserted: 1, errors: [] });
    const [a2, b2] = await all(name);
    expect(a2.value).toBe(2);
    expect(a2.created).toBe(a1.created);
    expect(a2.updated > a1.updated).toBe(true);
    expect(b2).toEqual(b1);

    const mixed = await call(server, tenant.users.editor, "POST", `/collections/${name}`, [
      { key: "a", value: 3 },
      { key: "c", value: 3 },
    ]);
    expect(mixed.status).toBe(201);
    const [a3, , c3] = await all(name);
    expect(a3.updated).toBe(c3.created);
    expect(a3.updated).toBe(c3.updated);
  });

  it("reports invalid items by index and writes the valid ones", async ({ server, tenant, all }) => {
    const name = await tenant.collection();
    const r = await call(server, tenant.users.editor, "POST", `/collections/${name}`, [
      { key: "ok1", value: "v" },
      "not an object",
      { value: 1 },
      { key: 5, value: 1 },
      { key: "", value: 1 },
      { key: "x".repeat(11), value: 1 },
      { key: "tab\there", value: 1 },
      { key: "big", value: "x".repeat(100) },
      { key: "dup", value: 1 },
      { key: "dup", value: 2 },
      { key: "nov" },
      { key: "ok2", value: null },
      null,
    ]);
    expect(r.status).toBe(201);
    expect(r.body.upserted).toBe(2);
    expect(r.body.errors.map((e: { index: number; key: string | null }) => [e.index, e.key])).toEqual([
      [1, null],
      [2, null],
      [3, null],
      [4, ""],
      [5, "x".repeat(11)],
      [6, "tab\there"],
      [7, "big"],
      [8, "dup"],
      [9, "dup"],
      [10, "nov"],
      [12, null],
    ]);
    expect(r.body.errors[4].message).toMatch(/MAX_KEY_LENGTH/);
    expect(r.body.errors[6].message).toMatch(/MAX_VALUE_CHARS/);
    expect(r.body.errors[7].message).toMatch(/repeated/);
    expect((await all(name)).map((i: { key: string; value: unknown }) => [i.key, i.value])).toEqual([
      ["ok1", "v"],
      ["ok2", null],
    ]);
  });

  it("422 with the same body when nothing is valid; nothing written", async ({ server, tenant, all }) => {
    const name = await tenant.collection();
    const r = await call(server, tenant.users.editor, "POST", `/collections/${name}`, [
      { key: "", value: 1 },
      { key: "d", value: 1 },
      { key: "d", value: 2 },
    ]);
    expect(r.status).toBe(422);
    expect(r.body.upserted).toBe(0);
    expect(r.body.errors).toHaveLength(3);
    expect(await all(name)).toEqual([]);
    const empty = await call(server, tenant.users.editor, "POST", `/collections/${name}`, []);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ upserted: 0, errors: [] });
  });

  it("400 for bodies that are not JSON or of neither shape, 415, 413", async ({ server, tenant, all }) => {
    const name = await tenant.collection();
    for (const body of ["{not json", '"a string"', "42", '{"itemz": []}', '{"items": {}}', "null"]) {
      const r = await call(server, tenant.users.editor, "POST", `/collections/${name}`, body);
      expect(r.status, body).toBe(400);
      expect(r.body.code).toBe("BAD_REQUEST");
    }
    const wrongType = await fetch(`${server.url}/collections/${name}`, {
      method: "POST",
      headers: { ...tenant.users.editor.headers, "content-type": "text/plain" },
      body: "[]",
    });
    expect(wrongType.status).toBe(415);
    const huge = await call(server, tenant.users.editor, "POST", `/collections/${name}`, [
      { key: "k", value: "x".repeat(5000) },
    ]);
    expect(huge.status).toBe(413);
    const many = await call(
      server,
      tenant.users.editor,
      "POST",
      `/collections/${name}`,
      Array.from({ length: 51 }, (_, i) => ({ key: `${i}`, value: 0 })),
    );
    expect(many.status).toBe(413);
    expect(many.body.message).toMatch(/MAX_ITEMS_PER_REQUEST/);
    const badUtf8 = await fetch(`${server.url}/collections/${name}`, {
      method: "POST",
      headers: { ...tenant.users.editor.headers, "content-type": "application/json" },
      body: Buffer.from([0x5b, 0xff, 0x5d]),
    });
    expect(badUtf8.status).toBe(400);
    expect(await all(name)).toEqual([]);
  });

  it("401, 403 for viewers and read-scoped tokens, 404, unknown parameter 400", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const items = [{ key: "a", value: 1 }];
    expect((await call(server, undefined, "POST", `/collections/${name}`, items)).status).toBe(401);
    const viewer = await call(server, tenant.users.viewer, "POST", `/collections/${name}`, items);
    expect(viewer.status).toBe(403);
    expect(viewer.body.code).toBe("FORBIDDEN");
    const read = await server.services.auth.createUserToken({ userId: tenant.users.owner.id, scope: "read" });
    const scoped = await call(
      server,
      { ...tenant.users.owner, headers: { authorization: `Bearer ${read.token}` } },
      "POST",
      `/collections/${name}`,
      items,
    );
    expect(scoped.status).toBe(403);
    expect((await call(server, tenant.outsider, "POST", `/collections/${name}`, items)).status).toBe(404);
    expect((await call(server, tenant.users.editor, "POST", `/collections/missing-one`, items)).status).toBe(
      404,
    );
    const unknown = await call(server, tenant.users.editor, "POST", `/collections/${name}?limit=1`, items);
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain('"limit"');
    for (const role of ["editor", "admin", "owner"] as const) {
      expect(
        (await call(server, tenant.users[role], "POST", `/collections/${name}`, items)).status,
      ).toBeLessThan(300);
    }
    const run = await server.services.auth.createRunToken({ projectId: tenant.project.id });
    const byRun = await call(
      server,
      { ...tenant.users.owner, headers: { authorization: `Bearer ${run.token}` } },
      "POST",
      `/collections/${name}`,
      [{ key: "r", value: 1 }],
    );
    expect(byRun.status).toBe(201);
  });
});

describe("POST with many items", () => {
  it("writes more than one unnest chunk atomically in one request", async () => {
    const big = await startTestServer({ MAX_ITEMS_PER_REQUEST: "5000" });
    const t = await createTenant(big.services);
    try {
      const name = await t.collection();
      const items = Array.from({ length: 2500 }, (_, i) => ({ key: `k${i}`, value: { i } }));
      const r = await call(big, t.users.editor, "POST", `/collections/${name}`, items);
      expect(r.status).toBe(201);
      expect(r.body).toEqual({ upserted: 2500, errors: [] });
      const got = await call(big, t.users.viewer, "GET", `/collections/${name}`);
      expect(got.body.results.map((x: { key: string }) => x.key)).toEqual(items.map((x) => x.key));
      expect(new Set(got.body.results.map((x: { created: string }) => x.created)).size).toBe(1);
    } finally {
      await t.cleanup();
      await big.close();
    }
  });
});

import { TRPCClientError } from "@trpc/client";
import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { call, seed } from "../support/items.js";
import { storedKeys, trpcAs } from "../support/integrity.js";

// Issue 11, defect 12 (SPEC §2, §3.1): project_id is a UUID in any letter case; limit and offset are
// decimal digits only; an offset beyond MAX_OFFSET (default 10000) is 400 pointing to the cursor.

const it = test
  /** A collection holding k1, k2, k3. */
  .extend("collection", { scope: "file" }, async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [
      { key: "k1", value: 1 },
      { key: "k2", value: 2 },
      { key: "k3", value: 3 },
    ]);
    return name;
  })
  /** The tenant's project id in upper case. */
  .extend("upper", { scope: "file" }, ({ tenant }) => tenant.project.id.toUpperCase());

async function trpcCode(work: Promise<unknown>): Promise<string | undefined> {
  try {
    await work;
    return undefined;
  } catch (e) {
    if (!(e instanceof TRPCClientError)) throw e;
    return (e.data as { code?: string }).code;
  }
}

describe("12. project_id is a UUID in any letter case", () => {
  it("the project id really has letters (the test means something)", ({ tenant, upper }) => {
    expect(upper).not.toBe(tenant.project.id);
  });

  it("REST GET /collections/c?project_id=<UPPER>: 200 with the items", async ({
    server,
    tenant,
    collection: name,
    upper,
  }) => {
    const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?project_id=${upper}`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.results.map((x: { key: string }) => x.key)).toEqual(["k1", "k2", "k3"]);
  });

  it("REST GET /collections/c/k1?project_id=<UPPER>: 200 with the item", async ({
    server,
    tenant,
    collection: name,
    upper,
  }) => {
    const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}/k1?project_id=${upper}`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.results.map((x: { key: string }) => x.key)).toEqual(["k1"]);
  });

  it("REST GET /collections?project_id=<UPPER> lists the collection", async ({
    server,
    tenant,
    collection: name,
    upper,
  }) => {
    const r = await call(server, tenant.users.viewer, "GET", `/collections?project_id=${upper}`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.results.map((c: { name: string }) => c.name)).toContain(name);
    expect(r.body.results.find((c: { name: string }) => c.name === name)).toMatchObject({
      project_id: tenant.project.id,
      items: 3,
    });
  });

  it("REST POST and DELETE with project_id=<UPPER> write and delete", async ({
    server,
    tenant,
    collection: name,
    upper,
  }) => {
    const post = await call(server, tenant.users.editor, "POST", `/collections/${name}?project_id=${upper}`, [
      { key: "up", value: 0 },
    ]);
    expect(post.status, post.text).toBe(201);
    const del = await call(
      server,
      tenant.users.editor,
      "DELETE",
      `/collections/${name}/up?project_id=${upper}`,
    );
    expect(del.status, del.text).toBe(200);
    expect(del.body).toEqual({ keys: ["up"], deleted: 1 });
  });

  it("Lightning GET list and GET by key with project_id=<UPPER>: 200", async ({
    server,
    tenant,
    collection: name,
    upper,
  }) => {
    const list = await call(
      server,
      tenant.users.viewer,
      "GET",
      `/lightning/collections/${name}?project_id=${upper}`,
    );
    expect(list.status, list.text).toBe(200);
    expect(list.body.items.map((x: { key: string }) => x.key)).toEqual(["k1", "k2", "k3"]);
    const one = await call(
      server,
      tenant.users.viewer,
      "GET",
      `/lightning/collections/${name}/k2?project_id=${upper}`,
    );
    expect(one.status, one.text).toBe(200);
    expect(one.body).toMatchObject({ key: "k2", value: "2" });
  });

  it("tRPC items.get and collections.list with project_id=<UPPER>", async ({
    server,
    tenant,
    collection: name,
    upper,
  }) => {
    const client = trpcAs(server, tenant.users.viewer);
    const page = await client.items.get.query({ name, project_id: upper });
    expect(page.results.map((x) => x.key)).toEqual(["k1", "k2", "k3"]);
    const list = await client.collections.list.query({ project_id: upper });
    expect(list.results.map((c) => c.name)).toContain(name);
  });
});

describe("12. limit and offset are decimal digits only", () => {
  const restCases: [string, string][] = [
    ["limit=0x2", "limit"],
    ["limit=1e0", "limit"],
    ["limit=+2", "limit"],
    ["limit=%2B2", "limit"],
    ["limit=%202", "limit"],
    ["limit=2%20", "limit"],
    ["limit=2.0", "limit"],
    ["offset=", "offset"],
    ["offset=0x1", "offset"],
    ["offset=1.0", "offset"],
    ["offset=1e1", "offset"],
    ["offset=+1", "offset"],
    ["offset=%201", "offset"],
  ];

  it.for(restCases)(
    "REST GET /collections/c?%s: 400 naming %s",
    async ([query, param], { server, tenant, collection: name }) => {
      const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?${query}`);
      expect(r.status, r.text).toBe(400);
      expect(r.body).toMatchObject({
        code: "BAD_REQUEST",
        message: expect.stringContaining(param),
        issues: [{ path: param }],
      });
    },
  );

  it.for(restCases.filter(([q]) => ["limit=0x2", "limit=+2", "offset=", "offset=1.0"].includes(q)))(
    "REST GET /collections/c/k*?%s: 400 naming %s",
    async ([query, param], { server, tenant, collection: name }) => {
      const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}/k*?${query}`);
      expect(r.status, r.text).toBe(400);
      expect(r.body).toMatchObject({ code: "BAD_REQUEST", issues: [{ path: param }] });
    },
  );

  it.for(["limit=0x2", "limit=1e0", "limit=+2", "limit=%2B2", "limit=%202", "limit=2.0", "limit="])(
    "Lightning GET list ?%s: 400",
    async (query, { server, tenant, collection: name }) => {
      const r = await call(server, tenant.users.viewer, "GET", `/lightning/collections/${name}?${query}`);
      expect(r.status, r.text).toBe(400);
      expect(Object.keys(r.body)).toEqual(["error"]);
    },
  );

  it("plain digits are accepted: limit=2, limit=02, offset=0, offset=1", async ({
    server,
    tenant,
    collection: name,
  }) => {
    for (const [query, keys] of [
      ["limit=2", ["k1", "k2"]],
      ["limit=02", ["k1", "k2"]],
      ["offset=0", ["k1", "k2", "k3"]],
      ["offset=1", ["k2", "k3"]],
    ] as const) {
      const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?${query}`);
      expect(r.status, `${query}: ${r.text}`).toBe(200);
      expect(
        r.body.results.map((x: { key: string }) => x.key),
        query,
      ).toEqual(keys);
    }
    const lightning = await call(
      server,
      tenant.users.viewer,
      "GET",
      `/lightning/collections/${name}?limit=2`,
    );
    expect(lightning.status).toBe(200);
    expect(lightning.body.items).toHaveLength(2);
  });
});

describe("12. offset has a ceiling (MAX_OFFSET, default 10000)", () => {
  it("offset=10000 is accepted: 200, nothing, end_offset 10000", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?offset=10000`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ results: [], end_offset: 10000, cursor: null });
  });

  it.for([
    `/collections/{name}?offset=10001`,
    `/collections/{name}/k*?offset=10001`,
    `/collections/{name}?offset=9007199254740991`,
  ])(
    "REST GET %s: 400 naming offset and pointing to cursor",
    async (template, { server, tenant, collection: name }) => {
      const r = await call(server, tenant.users.viewer, "GET", template.replace("{name}", name));
      expect(r.status, r.text).toBe(400);
      expect(r.body).toMatchObject({
        code: "BAD_REQUEST",
        message: expect.stringMatching(/offset[\s\S]*cursor/),
        issues: [{ path: "offset" }],
      });
    },
  );

  it("tRPC items.get {offset: 10001}: BAD_REQUEST; {offset: 10000}: an empty page", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const client = trpcAs(server, tenant.users.viewer);
    expect(await trpcCode(client.items.get.query({ name, offset: 10001 }))).toBe("BAD_REQUEST");
    const page = await client.items.get.query({ name, offset: 10000 });
    expect(page.results).toEqual([]);
    expect(page.end_offset).toBe(10000);
  });

  it("nothing of this changed the collection", async ({ server, tenant, collection: name }) => {
    expect(await storedKeys(server, tenant.project.id, name)).toEqual(["k1", "k2", "k3"]);
  });
});

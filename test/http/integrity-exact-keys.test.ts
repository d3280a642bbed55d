import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { call, keyPath } from "../support/items.js";
import { trpcAs } from "../support/integrity.js";

// Issue 11, defect 5 (SPEC §1): keys are stored and returned exactly as sent, code point for code point, on
// every storage: a leading U+FEFF (once or twice), U+2028, and the NFC and NFD spellings of é are all
// distinct keys. (Today the embedded store drops a leading U+FEFF when it reads a key back.)

const BOM = "\uFEFF";
const exotic = [`${BOM}bom`, `${BOM}${BOM}two`, "\u2028line", "\u00E9", "e\u0301"];
/** The exotic keys and their plain look-alikes, all distinct. */
const allKeys = [...exotic, "bom", `${BOM}two`, "two", "line", "e"];

const codePoints = (keys: string[]) =>
  keys.map((k) => [...k].map((c) => c.codePointAt(0)!.toString(16)).join(" "));

const it = test
  /** The keys as stored, read as UTF-8 bytes (hex) so that no driver decoding can alter them. */
  .extend(
    "storedExactly",
    { scope: "file" },
    ({ server, tenant }) =>
      async (name: string): Promise<string[]> => {
        const rows = await server.services.db.prisma.$queryRaw<{ hex: string }[]>`
      SELECT encode(convert_to(key, 'UTF8'), 'hex') AS hex FROM items
      WHERE collection_id = (SELECT id FROM collections WHERE project_id = ${tenant.project.id}::uuid AND name = ${name})
        AND value IS NOT NULL
      ORDER BY ins_xid, seq`;
        return rows.map((r) => Buffer.from(r.hex, "hex").toString("utf8"));
      },
  )
  /** `withKeys()`: a fresh collection holding allKeys, written through POST. */
  .extend("withKeys", { scope: "file" }, ({ server, tenant }) => async (): Promise<string> => {
    const name = await tenant.collection();
    const r = await call(
      server,
      tenant.users.editor,
      "POST",
      `/collections/${name}`,
      allKeys.map((key, i) => ({ key, value: i })),
    );
    expect(r.status, r.text).toBe(201);
    expect(r.body).toEqual({ upserted: allKeys.length, errors: [] });
    return name;
  })
  /** The collection the reads of "keys are exact on every storage" share. */
  .extend("collection", { scope: "file" }, ({ withKeys }) => withKeys());

describe("5. keys are exact on every storage", () => {
  it("the database holds every key exactly as sent, each distinct", async ({
    storedExactly,
    collection: name,
  }) => {
    expect(codePoints(await storedExactly(name))).toEqual(codePoints(allKeys));
  });

  it("REST GET /collections/c lists every key exactly", async ({ server, tenant, collection: name }) => {
    const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}`);
    expect(r.status).toBe(200);
    expect(codePoints(r.body.results.map((x: { key: string }) => x.key))).toEqual(codePoints(allKeys));
    expect(r.body.results.map((x: { value: number }) => x.value)).toEqual(allKeys.map((_, i) => i));
  });

  it.for(exotic.map((k) => [codePoints([k])[0], k] as const))(
    "REST GET /collections/c/{key} of [%s]: that item, its key exact",
    async ([_cp, key], { server, tenant, collection: name }) => {
      const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}/${keyPath(key)}`);
      expect(r.status, r.text).toBe(200);
      expect(codePoints(r.body.results.map((x: { key: string }) => x.key))).toEqual(codePoints([key]));
      expect(r.body.results[0].value).toBe(allKeys.indexOf(key));
    },
  );

  it("REST GET /collections/c/%EF%BB%BFbom reads the item \\uFEFFbom, not bom", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}/%EF%BB%BFbom`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.results).toHaveLength(1);
    expect(r.body.results[0].key).toBe(`${BOM}bom`);
    expect(r.body.results[0].value).toBe(0);
  });

  it("Lightning GET /lightning/collections/c lists every key exactly", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const r = await call(server, tenant.users.viewer, "GET", `/lightning/collections/${name}`);
    expect(r.status).toBe(200);
    expect(codePoints(r.body.items.map((x: { key: string }) => x.key))).toEqual(codePoints(allKeys));
  });

  it.for(exotic.map((k) => [codePoints([k])[0], k] as const))(
    "Lightning GET /lightning/collections/c/{key} of [%s]: its key exact",
    async ([_cp, key], { server, tenant, collection: name }) => {
      const r = await call(
        server,
        tenant.users.viewer,
        "GET",
        `/lightning/collections/${name}/${keyPath(key)}`,
      );
      expect(r.status, r.text).toBe(200);
      expect(codePoints([r.body.key])).toEqual(codePoints([key]));
      expect(r.body.value).toBe(String(allKeys.indexOf(key)));
    },
  );

  it("tRPC items.get lists every key exactly, and reads each by exact key", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const client = trpcAs(server, tenant.users.viewer);
    const page = await client.items.get.query({ name });
    expect(codePoints(page.results.map((x) => x.key)), "list").toEqual(codePoints(allKeys));
    for (const key of exotic) {
      const one = await client.items.get.query({ name, key });
      expect(codePoints(one.results.map((x) => x.key)), `by key ${codePoints([key])[0]}`).toEqual(
        codePoints([key]),
      );
    }
  });
});

describe("5. keys are exact in what deletes answer", () => {
  it("REST DELETE /collections/c/%EF%BB%BF* answers exactly the keys with a leading U+FEFF; bom and two remain", async ({
    server,
    tenant,
    storedExactly,
    withKeys,
  }) => {
    const name = await withKeys();
    const r = await call(server, tenant.users.editor, "DELETE", `/collections/${name}/%EF%BB%BF*`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.deleted).toBe(3);
    expect(codePoints(r.body.keys), "keys answered").toEqual(
      codePoints([`${BOM}bom`, `${BOM}${BOM}two`, `${BOM}two`]),
    );
    expect(codePoints(await storedExactly(name))).toEqual(
      codePoints(["\u2028line", "\u00E9", "e\u0301", "bom", "two", "line", "e"]),
    );
  });

  it("Lightning DELETE /lightning/collections/c/{key} answers the exact key", async ({
    server,
    tenant,
    storedExactly,
    withKeys,
  }) => {
    const name = await withKeys();
    for (const key of exotic) {
      const r = await call(
        server,
        tenant.users.editor,
        "DELETE",
        `/lightning/collections/${name}/${keyPath(key)}`,
      );
      expect(r.status, r.text).toBe(200);
      expect(codePoints([r.body.key])).toEqual(codePoints([key]));
      expect(r.body.deleted).toBe(1);
    }
    expect(codePoints(await storedExactly(name))).toEqual(
      codePoints(["bom", `${BOM}two`, "two", "line", "e"]),
    );
  });

  it("tRPC items.delete answers the exact keys (NFD and NFC apart)", async ({
    server,
    tenant,
    storedExactly,
    withKeys,
  }) => {
    const name = await withKeys();
    const client = trpcAs(server, tenant.users.editor);
    const nfd = await client.items.delete.mutate({ name, key: "e\u0301" });
    expect(nfd.deleted).toBe(1);
    expect(codePoints(nfd.keys), "keys answered").toEqual(codePoints(["e\u0301"]));
    const bom = await client.items.delete.mutate({ name, key: `${BOM}${BOM}*` });
    expect(bom.deleted).toBe(1);
    expect(codePoints(bom.keys), "keys answered").toEqual(codePoints([`${BOM}${BOM}two`]));
    expect(codePoints(await storedExactly(name))).toEqual(
      codePoints([`${BOM}bom`, "\u2028line", "\u00E9", "bom", `${BOM}two`, "two", "line", "e"]),
    );
  });

  it("a key written through Lightning PUT with a leading U+FEFF is stored and read back exactly", async ({
    server,
    tenant,
    storedExactly,
  }) => {
    const name = await tenant.collection();
    const put = await call(
      server,
      tenant.users.editor,
      "PUT",
      `/lightning/collections/${name}/%EF%BB%BFput`,
      { value: "v" },
    );
    expect(put.status, put.text).toBe(200);
    expect(codePoints(await storedExactly(name)), "stored").toEqual(codePoints([`${BOM}put`]));
    const back = await call(
      server,
      tenant.users.viewer,
      "GET",
      `/lightning/collections/${name}/%EF%BB%BFput`,
    );
    expect(back.status, back.text).toBe(200);
    expect(codePoints([back.body.key]), "read back").toEqual(codePoints([`${BOM}put`]));
  });
});

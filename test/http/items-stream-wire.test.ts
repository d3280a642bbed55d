import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { call, keyPath } from "../support/items.js";

// GET /collections/{name} (SPEC §3.1) streams each item as JSON text built by the database (itemWireSql),
// several batches read ahead of the socket; a read of one exact key builds the same item in JavaScript
// (itemJsonPieces). The two must agree byte for byte: keys JSON-escaped alike (quotes, backslashes, a
// leading U+FEFF that PGlite's decoder would drop, characters outside the BMP), values as stored.

const BOM = "\uFEFF";
const big = "y".repeat(300_000);
/** Keys without `*` (a pattern character), each read back alone too; values as raw JSON text. */
const items: [key: string, valueJson: string][] = [
  ["plain", '{"a":1}'],
  [`${BOM}bom`, '"\\ufeff lead"'],
  [`${BOM}${BOM}two`, "[1,2.50,1E+2,-0]"],
  ['quote"back\\slash', '{"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001"}'],
  ["\u2028line\u2029", '{"t":"\u2028"}'],
  ["emoji \u{1F600} \u00e9 e\u0301", '"\\ud83d\\ude00 \u{1F600}"'],
  ["nulls", "null"],
  ["big", `{"big":"${big}","after":true}`],
  ["meta", '{"_meta":{"old":1},"x":{"_meta":2}}'],
  ["last", "0"],
];

const it = test.extend("collection", { scope: "file" }, async ({ server, tenant }) => {
  const name = await tenant.collection();
  const body = `[${items.map(([key, v]) => `{"key":${JSON.stringify(key)},"value":${v}}`).join(",")}]`;
  const r = await call(server, tenant.users.editor, "POST", `/collections/${name}`, body);
  expect(r.status, r.text).toBe(201);
  return name;
});
// Several batches per answer: read-ahead and the joins between batches are crossed.
it.override({ serverEnv: { STREAM_BATCH_SIZE: "3" } });

const HEAD = '{"results":[';

/** The text of the one item of a `{"results":[item],...}` answer. */
const onlyItem = (text: string) => text.slice(HEAD.length, text.lastIndexOf('],"end_offset":1,'));

describe("GET /collections/{name}: items built by the database", () => {
  it("are byte for byte the items that reads of each exact key answer", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const singles: string[] = [];
    for (const [key] of items) {
      const one = await call(server, tenant.users.viewer, "GET", `/collections/${name}/${keyPath(key)}`);
      expect(one.status, key).toBe(200);
      expect(JSON.parse(one.text).results[0].key).toBe(key);
      singles.push(onlyItem(one.text));
    }
    const all = await call(server, tenant.users.viewer, "GET", `/collections/${name}`);
    expect(all.status).toBe(200);
    expect(all.text).toBe(`${HEAD}${singles.join(",")}],"end_offset":${items.length},"cursor":null}`);
    // And the values are the stored texts (minified as written here: no whitespace to remove).
    expect(singles.map((s) => s.slice(s.indexOf(',"value":') + 9, s.lastIndexOf(',"created":')))).toEqual(
      items.map(([, v]) => v),
    );
  });

  it("keys_only=true: each key's JSON string as JSON.stringify writes it", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?keys_only=true`);
    expect(r.status).toBe(200);
    expect(r.text).toBe(
      `${HEAD}${items.map(([key]) => JSON.stringify(key)).join(",")}],"end_offset":${items.length},"cursor":null}`,
    );
  });

  it("pages with limit and cursor are the same texts as one answer", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const all = await call(server, tenant.users.viewer, "GET", `/collections/${name}`);
    const whole = all.text.slice(HEAD.length, all.text.lastIndexOf('],"end_offset":'));
    const parts: string[] = [];
    let path = `/collections/${name}?limit=4`;
    for (;;) {
      const page = await call(server, tenant.users.viewer, "GET", path);
      expect(page.status).toBe(200);
      parts.push(page.text.slice(HEAD.length, page.text.lastIndexOf('],"end_offset":')));
      const cursor = JSON.parse(page.text).cursor as string | null;
      if (cursor === null) break;
      path = `/collections/${name}?limit=4&cursor=${encodeURIComponent(cursor)}`;
    }
    expect(parts).toHaveLength(3);
    expect(parts.join(",")).toBe(whole);
  });

  it("meta=true (assembled in JavaScript) adds _meta to object values, the rest as stored", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?meta=true`);
    expect(r.status).toBe(200);
    const results = JSON.parse(r.text).results as {
      key: string;
      value: unknown;
      created: string;
      updated: string;
      version: number;
    }[];
    expect(results.map((x) => x.key)).toEqual(items.map(([key]) => key));
    for (const [i, x] of results.entries()) {
      const stored = JSON.parse(items[i]![1]) as unknown;
      if (stored !== null && typeof stored === "object" && !Array.isArray(stored)) {
        const { _meta, ...rest } = x.value as Record<string, unknown>;
        expect(_meta).toEqual({ created: x.created, updated: x.updated, version: x.version });
        const { _meta: _old, ...storedRest } = stored as Record<string, unknown>;
        expect(rest).toEqual(storedRest);
      } else {
        expect(x.value).toEqual(stored);
      }
    }
  });
});

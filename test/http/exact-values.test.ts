import { describe, expect } from "vitest";
import { parseJsonBody } from "../../server/services/json-text.js";
import { test } from "../support/fixtures.js";
import { call } from "../support/items.js";
import { lightningPath } from "../support/lightning.js";

// SPEC §1: a stored value is never changed on the way in. A number keeps its exact text
// (9007199254740993, 1.0, 1e400, -0 come back as sent), strings keep their escapes; only whitespace
// outside strings may go. Every comparison here is on response text, never on parsed JSON.

const VALUE = String.raw`{"id":9007199254740993,"x":1e400,"y":1.0,"z":-0,"s":"\u00e9"}`;

/** The exact text of results[0].value in a GET response (and the parsed results). */
function valueTextOf(responseText: string): { text: string | undefined; item: Record<string, unknown> } {
  const p = parseJsonBody(responseText, 64);
  const item = (p.value as { results: Record<string, unknown>[] }).results[0]!;
  return { text: p.rawText(item, "value"), item };
}

/** The tenant's editor writing, its viewer reading, and a write of the stored text itself. */
const it = test.extend("api", { scope: "file" }, ({ server, tenant }) => {
  async function post(name: string, body: string) {
    const r = await call(server, tenant.users.editor, "POST", `/collections/${name}`, body);
    expect(r.status, r.text).toBe(201);
    expect(r.body).toEqual({ upserted: expect.any(Number), errors: [] });
    return r;
  }

  async function get(name: string, key: string, query = "") {
    const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}/${key}${query}`);
    expect(r.status, r.text).toBe(200);
    return r;
  }

  /** Writes the stored text directly (no HTTP on the way in): the read side alone. */
  async function store(name: string, key: string, valueJson: string) {
    const { upsertItems } = await import("../../server/services/items.js");
    const c = await server.services.db.prisma.collection.findFirstOrThrow({
      where: { name, projectId: tenant.project.id },
      select: { id: true },
    });
    await upsertItems(server.services.db.sql, c.id, [{ key, valueJson }]);
  }

  return { post, get, store };
});

describe("POST then GET /collections/{name}/{key}: the value text as sent", () => {
  it("an array body: numbers and escapes exactly as sent", async ({ tenant, api: { post, get } }) => {
    const name = await tenant.collection();
    await post(name, `[{"key":"n","value":${VALUE}}]`);
    const r = await get(name, "n");
    expect(valueTextOf(r.text).text).toBe(VALUE);
    expect(r.text).toContain(`"value":${VALUE},`);
  });

  it('an {"items": [...]} body', async ({ tenant, api: { post, get } }) => {
    const name = await tenant.collection();
    await post(name, `{"items":[{"key":"n","value":${VALUE}}]}`);
    expect(valueTextOf((await get(name, "n")).text).text).toBe(VALUE);
  });

  it("scalars, arrays and nested values; whitespace outside strings removed, inside kept", async ({
    tenant,
    api: { post, get },
  }) => {
    const name = await tenant.collection();
    const cases: [string, string, string][] = [
      ["big", "9007199254740993", "9007199254740993"],
      ["one", "1.0", "1.0"],
      ["huge", "1e400", "1e400"],
      ["negzero", "-0", "-0"],
      ["exp", "1E+2", "1E+2"],
      ["tenth", "0.10", "0.10"],
      ["str", String.raw`"\u00e9 \" \\ \u2028 \/"`, String.raw`"\u00e9 \" \\ \u2028 \/"`],
      ["arr", ' [ 1.0 ,\n 2.50 , [ -0 ] , { "a" : 1e2 } ] ', '[1.0,2.50,[-0],{"a":1e2}]'],
      [
        "nested",
        '{ "a" : { "b" : [ 9007199254740993 , "x  y" ] } ,\t"c":0.10 }',
        '{"a":{"b":[9007199254740993,"x  y"]},"c":0.10}',
      ],
    ];
    await post(
      name,
      "[\n" +
        cases.map(([key, sent]) => `  { "key" : "${key}" ,\n    "value" :  ${sent} }`).join(",\n") +
        "\n]",
    );
    for (const [key, , stored] of cases)
      expect(valueTextOf((await get(name, key)).text).text, key).toBe(stored);
  });

  it("a member named twice keeps the last; escaped member names are the same names", async ({
    tenant,
    api: { post, get },
  }) => {
    const name = await tenant.collection();
    await post(name, String.raw`[{"key":"dup","value":1,"value":2.50},{"k\u0065y":"esc","val\u0075e":1.0}]`);
    expect(valueTextOf((await get(name, "dup")).text).text).toBe("2.50");
    expect(valueTextOf((await get(name, "esc")).text).text).toBe("1.0");
  });
});

describe("meta=true: _meta added, every other byte exact", () => {
  const metaOf = (item: Record<string, unknown>) =>
    `{"created":"${item.created}","updated":"${item.updated}","version":${item.version}}`;

  it("a value sent over HTTP", async ({ tenant, api: { post, get } }) => {
    const name = await tenant.collection();
    await post(name, `[{"key":"n","value":${VALUE}}]`);
    const { text, item } = valueTextOf((await get(name, "n", "?meta=true")).text);
    expect(text).toBe(`${VALUE.slice(0, -1)},"_meta":${metaOf(item)}}`);
  });

  it("a value sent over HTTP that already had _meta members", async ({ tenant, api: { post, get } }) => {
    const name = await tenant.collection();
    await post(
      name,
      String.raw`[{"key":"n","value":{"_meta":{"old":1.0},"id":9007199254740993,"_m\u0065ta":2,"x":1e400,"in":{"_meta":-0}}}]`,
    );
    const { text, item } = valueTextOf((await get(name, "n", "?meta=true")).text);
    expect(text).toBe(`{"id":9007199254740993,"x":1e400,"in":{"_meta":-0},"_meta":${metaOf(item)}}`);
  });

  it("the read side alone (stored text written directly): existing _meta removed textually", async ({
    tenant,
    api: { get, store },
  }) => {
    const name = await tenant.collection();
    const cases: [string, string, (meta: string) => string][] = [
      ["plain", VALUE, (m) => `${VALUE.slice(0, -1)},"_meta":${m}}`],
      [
        "had",
        String.raw`{"_meta":{"old":1.0},"id":9007199254740993,"_m\u0065ta":2,"x":1e400,"in":{"_meta":-0},"_meta":3}`,
        (m) => `{"id":9007199254740993,"x":1e400,"in":{"_meta":-0},"_meta":${m}}`,
      ],
      ["only", '{"_meta":1.0}', (m) => `{"_meta":${m}}`],
      ["empty", "{}", (m) => `{"_meta":${m}}`],
      [
        "quoted",
        String.raw`{"s":"\"_meta\":1","_meta_":0.10}`,
        (m) => String.raw`{"s":"\"_meta\":1","_meta_":0.10,"_meta":` + m + "}",
      ],
      ["array", '[1.0,{"_meta":1}]', () => '[1.0,{"_meta":1}]'],
      ["number", "1e400", () => "1e400"],
    ];
    for (const [key, stored] of cases) await store(name, key, stored);
    for (const [key, , expected] of cases) {
      const { text, item } = valueTextOf((await get(name, key, "?meta=true")).text);
      expect(text, key).toBe(expected(metaOf(item)));
    }
  });
});

describe("Lightning GET: a non-string value is its exact JSON text, as a string", () => {
  it("the text sent to the primary API", async ({ server, tenant, api: { post } }) => {
    const name = await tenant.collection();
    await post(name, `[{"key":"n","value":${VALUE}},{"key":"ws","value":{ "a" : [ 1.0 , "x y" ] }}]`);
    const r = await call(server, tenant.users.viewer, "GET", lightningPath(name, "/n"));
    expect(r.status, r.text).toBe(200);
    expect(r.body.value).toBe(VALUE);
    const ws = await call(server, tenant.users.viewer, "GET", lightningPath(name, "/ws"));
    expect(ws.body.value).toBe('{"a":[1.0,"x y"]}');
  });
});

import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { seed } from "../support/items.js";
import { assertNoInternals, rawRequest, storedItems } from "../support/raw.js";

// SPEC §6 on the primary API (§3): every bad input has its documented 4xx, and nothing is written.

const json = { "content-type": "application/json" };

const hostileKeys = ["a%b", "a_b", "a\\b", 'a"b', "a'b", "axb", "ab", "a%%b"];

const it = test
  .extend("collection", { scope: "file" }, async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      hostileKeys.map((key, i) => ({ key, value: { i } })),
    );
    return name;
  })
  /** The owner's headers. */
  .extend("auth", { scope: "file" }, ({ tenant }) => tenant.users.owner.headers);
it.override({
  serverEnv: {
    MAX_BODY_BYTES: "65536",
    MAX_ITEMS_PER_REQUEST: "5",
    MAX_VALUE_CHARS: "1000",
    MAX_RESULT_LIMIT: "100",
    MAX_JSON_DEPTH: "64",
  },
});

const deep = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const longPattern = "x".repeat(10_000);

interface Case {
  what: string;
  method: string;
  /** The request target, given the file's collection. */
  path: (name: string) => string;
  headers?: Record<string, string>;
  body?: () => string | Uint8Array;
  status: number;
  message: RegExp;
}

const c = (name: string) => `/collections/${name}`;

const bodyCases: Case[] = [
  {
    what: "malformed JSON",
    method: "POST",
    path: c,
    headers: json,
    body: () => '[{"key": "k", ',
    status: 400,
    message: /not valid JSON/,
  },
  {
    what: "wrong content type",
    method: "POST",
    path: c,
    headers: { "content-type": "text/plain" },
    body: () => '[{"key":"k","value":1}]',
    status: 415,
    message: /application\/json.*text\/plain/,
  },
  {
    what: "no content type",
    method: "POST",
    path: c,
    headers: {},
    body: () => '[{"key":"k","value":1}]',
    status: 415,
    message: /Content-Type must be application\/json/,
  },
  {
    what: "invalid UTF-8",
    method: "POST",
    path: c,
    headers: json,
    body: () =>
      Buffer.from([0x5b, 0x7b, 0x22, 0x6b, 0x65, 0x79, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x5d]),
    status: 400,
    message: /UTF-8/,
  },
  {
    what: "oversize body",
    method: "POST",
    path: c,
    headers: json,
    body: () => JSON.stringify([{ key: "big", value: "x".repeat(70_000) }]),
    status: 413,
    message: /MAX_BODY_BYTES/,
  },
  {
    what: "empty body",
    method: "POST",
    path: c,
    headers: json,
    body: () => "",
    status: 400,
    message: /empty/,
  },
  {
    what: "whitespace body",
    method: "POST",
    path: c,
    headers: json,
    body: () => " \n ",
    status: 400,
    message: /empty/,
  },
  {
    what: "deeply nested value",
    method: "POST",
    path: c,
    headers: json,
    body: () => `[{"key":"deep","value":${deep(10_000)}}]`,
    status: 400,
    message: /MAX_JSON_DEPTH/,
  },
  {
    what: "neither shape (object)",
    method: "POST",
    path: c,
    headers: json,
    body: () => '{"foo": 1}',
    status: 400,
    message: /JSON array/,
  },
  {
    what: "neither shape (string)",
    method: "POST",
    path: c,
    headers: json,
    body: () => '"items"',
    status: 400,
    message: /JSON array/,
  },
  {
    what: "neither shape (null)",
    method: "POST",
    path: c,
    headers: json,
    body: () => "null",
    status: 400,
    message: /JSON array/,
  },
  {
    what: "too many items",
    method: "POST",
    path: c,
    headers: json,
    body: () => JSON.stringify(Array.from({ length: 6 }, (_, i) => ({ key: `n${i}`, value: i }))),
    status: 413,
    message: /MAX_ITEMS_PER_REQUEST/,
  },
  // SPEC §8.1: POST is no method of /collections/{name}/{key}: 405 with Allow (it was 400 before).
  {
    what: "a key in the path",
    method: "POST",
    path: (name) => `${c(name)}/k`,
    headers: json,
    body: () => '[{"key":"k","value":1}]',
    status: 405,
    message: /POST is not allowed on \/collections\/\{name\}\/\{key\}; allowed: GET, HEAD, PUT, DELETE/,
  },
  {
    what: "an unknown parameter",
    method: "POST",
    path: (name) => `${c(name)}?upsert=1`,
    headers: json,
    body: () => '[{"key":"k","value":1}]',
    status: 400,
    message: /Unknown parameter "upsert"/,
  },
  {
    what: "an invalid project_id",
    method: "POST",
    path: (name) => `${c(name)}?project_id=1`,
    headers: json,
    body: () => '[{"key":"k","value":1}]',
    status: 400,
    message: /project_id/,
  },
];

// Each item is invalid, so the answer is 422 naming the item, and nothing is written.
const itemCases: { what: string; item: unknown; message: RegExp }[] = [
  {
    what: "a key with a control character",
    item: { key: "a\u0001b", value: 1 },
    message: /control character/,
  },
  { what: "a key with a null byte", item: { key: "a\u0000b", value: 1 }, message: /control character/ },
  { what: "a key with DEL", item: { key: "a\u007fb", value: 1 }, message: /control character/ },
  { what: "a key with a lone surrogate", item: { key: "a\ud800b", value: 1 }, message: /surrogate/ },
  { what: "a key too long", item: { key: "k".repeat(256), value: 1 }, message: /MAX_KEY_LENGTH/ },
  { what: "an empty key", item: { key: "", value: 1 }, message: /empty/ },
  { what: "a number as key", item: { key: 7, value: 1 }, message: /must be a string/ },
  { what: "no key", item: { value: 1 }, message: /missing/ },
  { what: "no value", item: { key: "k" }, message: /value is missing/ },
  { what: "a value too large", item: { key: "k", value: "v".repeat(1000) }, message: /MAX_VALUE_CHARS/ },
  { what: "not an object", item: "k", message: /must be an object/ },
];

const invalidParams: [string, string][] = [
  ["limit=-1", "limit"],
  ["limit=0", "limit"],
  ["limit=abc", "limit"],
  ["limit=1.5", "limit"],
  ["limit=", "limit"],
  ["limit=101", "MAX_RESULT_LIMIT"],
  ["limit=99999999999999999999", "limit"],
  ["offset=-1", "offset"],
  ["offset=x", "offset"],
  ["cursor=!!!", "cursor"],
  ["cursor=abc", "cursor"],
  ["cursor=abc&offset=1", "cursor"],
  ["meta=maybe", "meta"],
  ["created_after=notadate", "created_after"],
  ["created_before=2024-13-01", "created_before"],
  ["updated_after=2024-02-30", "updated_after"],
  ["updated_before=yesterday", "updated_before"],
  ["project_id=nope", "project_id"],
  ["foo=1", "foo"],
  ["limit=1&limit=2", "limit"],
  ["limit=%ZZ", "limit"],
  ["meta=%C3%28", "meta"],
  ["%ZZ=1", "%ZZ"],
];
const deleteParams = invalidParams
  .filter(([q]) => !/^(limit|offset|cursor|meta)/.test(q))
  .concat([
    ["limit=1", "limit"],
    ["cursor=x", "cursor"],
  ]);

const pathCases: Case[] = [
  ...["GET", "DELETE"].flatMap((method): Case[] => [
    {
      what: `${method} a key with a null byte`,
      method,
      path: (name) => `${c(name)}/a%00b`,
      status: 400,
      message: /"key".*control character/,
    },
    {
      what: `${method} a key with a control character`,
      method,
      path: (name) => `${c(name)}/a%01b`,
      status: 400,
      message: /control character/,
    },
    {
      what: `${method} a key of invalid UTF-8`,
      method,
      path: (name) => `${c(name)}/a%C3%28`,
      status: 400,
      message: /key.*percent-encoded UTF-8/,
    },
    // A `%` that starts no escape is itself (SPEC §3.6, WHATWG percent-decode): `a%ZZ` is that key, not an error.
    {
      what: `${method} an escape cut short in a UTF-8 sequence`,
      method,
      path: (name) => `${c(name)}/a%E0%A4%A`,
      status: 400,
      message: /key.*percent-encoded UTF-8/,
    },
    {
      what: `${method} a pattern of 10,000 characters`,
      method,
      path: (name) => `${c(name)}/${longPattern}`,
      status: 400,
      message: /MAX_PATTERN_LENGTH/,
    },
    {
      what: `${method} an impossible collection name`,
      method,
      path: () => `/collections/Not_Valid!`,
      status: 400,
      message: /collection name/,
    },
    {
      what: `${method} a name too long`,
      method,
      path: () => `/collections/${"n".repeat(65)}`,
      status: 400,
      message: /64 characters/,
    },
  ]),
  ...invalidParams.map(([q, param]): Case => ({
    what: `GET ?${q}`,
    method: "GET",
    path: (name) => `${c(name)}?${q}`,
    status: 400,
    message: new RegExp(param.replace(/[%]/g, "\\$&")),
  })),
  ...invalidParams.map(([q, param]): Case => ({
    what: `GET /{key} ?${q}`,
    method: "GET",
    path: (name) => `${c(name)}/a*?${q}`,
    status: 400,
    message: new RegExp(param.replace(/[%]/g, "\\$&")),
  })),
  ...deleteParams.map(([q, param]): Case => ({
    what: `DELETE ?${q}`,
    method: "DELETE",
    path: (name) => `${c(name)}/zz*?${q}`,
    status: 400,
    message: new RegExp(param.replace(/[%]/g, "\\$&")),
  })),
  {
    what: "GET /collections with an unknown parameter",
    method: "GET",
    path: () => "/collections?foo=1",
    status: 400,
    message: /foo/,
  },
  {
    what: "GET /collections with an invalid project_id",
    method: "GET",
    path: () => "/collections?project_id=x",
    status: 400,
    message: /project_id/,
  },
];

describe("bad input on /collections (SPEC §3, §6)", () => {
  it.for([...bodyCases, ...pathCases].map((k) => [k.what, k] as const))(
    "%s: documented 4xx naming the problem",
    async ([_what, k], { server, tenant, collection: name, auth }) => {
      const before = k.method === "GET" ? undefined : await storedItems(server, tenant.project.id, name);
      const r = await rawRequest(server, k.method, k.path(name), { ...auth, ...k.headers }, k.body?.());
      expect(r.status, r.text).toBe(k.status);
      expect(r.body).toMatchObject({ code: expect.any(String), message: expect.stringMatching(k.message) });
      assertNoInternals(r.text);
      if (before) expect(await storedItems(server, tenant.project.id, name)).toEqual(before);
    },
  );

  it.for(itemCases.map((k) => [k.what, k] as const))(
    "an item with %s: 422 naming index 0, nothing written",
    async ([_what, k], { server, tenant, collection: name, auth }) => {
      const before = await storedItems(server, tenant.project.id, name);
      const r = await rawRequest(server, "POST", c(name), { ...auth, ...json }, JSON.stringify([k.item]));
      expect(r.status, r.text).toBe(422);
      expect(r.body.upserted).toBe(0);
      const key = (k.item as { key?: unknown }).key;
      expect(r.body.errors).toEqual([
        { index: 0, key: typeof key === "string" ? key : null, message: expect.stringMatching(k.message) },
      ]);
      expect(await storedItems(server, tenant.project.id, name)).toEqual(before);
    },
  );

  it("the same body twice over is rejected alike: nothing half-written when one key repeats", async ({
    server,
    tenant,
    collection: name,
    auth,
  }) => {
    const before = await storedItems(server, tenant.project.id, name);
    const r = await rawRequest(
      server,
      "POST",
      c(name),
      { ...auth, ...json },
      JSON.stringify([
        { key: "rep", value: 1 },
        { key: "rep", value: 2 },
      ]),
    );
    expect(r.status).toBe(422);
    expect(r.body.errors.map((e: { index: number }) => e.index)).toEqual([0, 1]);
    expect(await storedItems(server, tenant.project.id, name)).toEqual(before);
  });
});

describe("hostile key patterns match literally (SPEC §3.5)", () => {
  const literal: [string, string[]][] = [
    ["a%b", ["a%b"]],
    ["a_b", ["a_b"]],
    ["a\\b", ["a\\b"]],
    ['a"b', ['a"b']],
    ["a'b", ["a'b"]],
    ["a%%b", ["a%%b"]],
    ["a%*", ["a%b", "a%%b"]],
    ["*_*", ["a_b"]],
    ["*\\*", ["a\\b"]],
    ["*'*", ["a'b"]],
    ['*"*', ['a"b']],
    ["%", []],
    ["_", []],
    ["\\", []],
    ["%*", []],
    ["_*", []],
    ["' OR '1'='1", []],
    ["a' OR 'x'='x", []],
    ["*; DROP TABLE items; --", []],
    ["x".repeat(1024), []],
    ["*".repeat(1024), hostileKeys],
  ];
  it.for(literal)("GET pattern %j", async ([pattern, keys], { server, collection: name, auth }) => {
    const r = await rawRequest(server, "GET", `${c(name)}/${encodeURIComponent(pattern)}`, auth);
    expect(r.status, r.text).toBe(200);
    expect(r.body.results.map((i: { key: string }) => i.key)).toEqual(keys);
  });

  it.for(literal.filter(([, keys]) => keys.length === 0))(
    "DELETE pattern %j deletes nothing",
    async ([pattern], { server, tenant, collection: name, auth }) => {
      const before = await storedItems(server, tenant.project.id, name);
      const r = await rawRequest(server, "DELETE", `${c(name)}/${encodeURIComponent(pattern)}`, auth);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ keys: [], deleted: 0 });
      expect(await storedItems(server, tenant.project.id, name)).toEqual(before);
    },
  );
});

import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { seed } from "../support/items.js";
import { assertNoInternals, rawRequest, storedItems } from "../support/raw.js";

// SPEC §6 on the Lightning dialect (§5): every bad input has its documented 4xx in Lightning's
// {"error": …} body, and nothing is written.

const json = { "content-type": "application/json" };
const hostileKeys = ["a%b", "a_b", "a\\b", 'a"b', "a'b", "axb", "ab"];

const it = test
  .extend("collection", { scope: "file" }, async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      hostileKeys.map((key) => ({ key, value: `v-${key}` })),
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

const base = (name: string) => `/lightning/collections/${name}`;
const deep = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const badRequest = /^Bad Request$/;

interface Case {
  what: string;
  method: string;
  /** The request target, given the file's collection. */
  path: (name: string) => string;
  headers?: Record<string, string>;
  body?: () => string | Uint8Array;
  status: number;
  error: RegExp;
}

const writes: ["PUT" | "POST", (name: string) => string, (v: string) => string][] = [
  ["PUT", (name) => `${base(name)}/k1`, (v) => `{"value":${v}}`],
  ["POST", base, (v) => `{"items":[{"key":"k1","value":${v}}]}`],
];

const bodyCases: Case[] = writes.flatMap(([method, path, wrap]): Case[] => [
  {
    what: `${method} malformed JSON`,
    method,
    path,
    headers: json,
    body: () => wrap('"x"').slice(0, -2),
    status: 400,
    error: badRequest,
  },
  {
    what: `${method} wrong content type`,
    method,
    path,
    headers: { "content-type": "text/plain" },
    body: () => wrap('"x"'),
    status: 415,
    error: /application\/json/,
  },
  {
    what: `${method} no content type`,
    method,
    path,
    headers: {},
    body: () => wrap('"x"'),
    status: 415,
    error: /application\/json/,
  },
  {
    what: `${method} invalid UTF-8`,
    method,
    path,
    headers: json,
    body: () => Buffer.concat([Buffer.from(wrap('"').slice(0, -1)), Buffer.from([0xc3, 0x28, 0x22, 0x7d])]),
    status: 400,
    error: badRequest,
  },
  {
    what: `${method} oversize body`,
    method,
    path,
    headers: json,
    body: () => wrap(JSON.stringify("x".repeat(70_000))),
    status: 413,
    error: /MAX_BODY_BYTES/,
  },
  {
    what: `${method} empty body`,
    method,
    path,
    headers: json,
    body: () => "",
    status: 400,
    error: badRequest,
  },
  {
    what: `${method} deeply nested body`,
    method,
    path,
    headers: json,
    body: () => wrap(deep(10_000)),
    status: 400,
    error: badRequest,
  },
  {
    what: `${method} a non-string value`,
    method,
    path,
    headers: json,
    body: () => wrap("{}"),
    status: 422,
    error: /value/,
  },
  {
    what: `${method} a value too large`,
    method,
    path,
    headers: json,
    body: () => wrap(JSON.stringify("v".repeat(1000))),
    status: 422,
    error: /MAX_VALUE_CHARS/,
  },
  {
    what: `${method} an invalid project_id`,
    method,
    path: (name) => `${path(name)}?project_id=1`,
    headers: json,
    body: () => wrap('"x"'),
    status: 400,
    error: badRequest,
  },
]);

const postCases: Case[] = [
  {
    what: "POST without items",
    method: "POST",
    path: base,
    headers: json,
    body: () => "{}",
    status: 422,
    error: /Missing required field: items/,
  },
  {
    what: "POST an array body",
    method: "POST",
    path: base,
    headers: json,
    body: () => "[]",
    status: 422,
    error: /JSON object/,
  },
  {
    what: "POST a key twice",
    method: "POST",
    path: base,
    headers: json,
    body: () => '{"items":[{"key":"d","value":"1"},{"key":"d","value":"2"}]}',
    status: 422,
    error: /^Duplicate key found$/,
  },
  {
    what: "POST a key with a null byte",
    method: "POST",
    path: base,
    headers: json,
    body: () => '{"items":[{"key":"a\\u0000b","value":"1"}]}',
    status: 422,
    error: /control character/,
  },
  {
    what: "POST a key with a control character",
    method: "POST",
    path: base,
    headers: json,
    body: () => '{"items":[{"key":"a\\u0007b","value":"1"}]}',
    status: 422,
    error: /control character/,
  },
  {
    what: "POST a key too long",
    method: "POST",
    path: base,
    headers: json,
    body: () => JSON.stringify({ items: [{ key: "k".repeat(256), value: "1" }] }),
    status: 422,
    error: /MAX_KEY_LENGTH|at most 255/,
  },
  {
    what: "POST too many items",
    method: "POST",
    path: base,
    headers: json,
    body: () =>
      JSON.stringify({ items: Array.from({ length: 6 }, (_, i) => ({ key: `n${i}`, value: "1" })) }),
    status: 413,
    error: /MAX_ITEMS_PER_REQUEST/,
  },
  {
    what: "POST one valid and one invalid item",
    method: "POST",
    path: base,
    headers: json,
    body: () => '{"items":[{"key":"ok","value":"1"},{"key":"","value":"1"}]}',
    status: 422,
    error: /item 1/,
  },
  {
    what: "PUT a key with a null byte",
    method: "PUT",
    path: (name) => `${base(name)}/a%00b`,
    headers: json,
    body: () => '{"value":"1"}',
    status: 422,
    error: /control character/,
  },
  {
    what: "PUT without value",
    method: "PUT",
    path: (name) => `${base(name)}/k1`,
    headers: json,
    body: () => '{"val":"1"}',
    status: 422,
    error: /Missing required field: value/,
  },
];

const listParams = [
  "limit=-1",
  "limit=0",
  "limit=abc",
  "limit=1.5",
  "limit=",
  "limit=101",
  "cursor=!!!",
  "cursor=",
  "created_after=2024-10-08",
  "created_before=notadate",
  "updated_after=2024-10-08T12:00:00",
  "updated_before=2024-13-01T00:00:00Z",
  "project_id=nope",
  "foo=1",
  "key=a&key=b",
  "limit=%ZZ",
  "key=%C3%28",
  `key=${"x".repeat(10_000)}`,
  "key=a%00b",
];
// Parameters the route uses are checked; the others are ignored (next describe).
const deleteParams = [
  "created_after=2024-10-08",
  "updated_before=x",
  "project_id=nope",
  "key=a&key=b",
  `key=${"x".repeat(10_000)}`,
  "key=a%01b",
  "key=%ZZ",
];

const readCases: Case[] = [
  ...listParams.map((q): Case => ({
    what: `GET list ?${q.slice(0, 40)}`,
    method: "GET",
    path: (name) => `${base(name)}?${q}`,
    status: 400,
    error: badRequest,
  })),
  ...deleteParams.map((q): Case => ({
    what: `DELETE ?${q.slice(0, 40)}`,
    method: "DELETE",
    path: (name) => `${base(name)}?${q}`,
    status: 400,
    error: badRequest,
  })),
  ...["GET", "DELETE"].flatMap((method): Case[] => [
    {
      what: `${method} a key with a null byte`,
      method,
      path: (name) => `${base(name)}/a%00b`,
      status: 400,
      error: badRequest,
    },
    {
      what: `${method} a key of invalid UTF-8`,
      method,
      path: (name) => `${base(name)}/a%C3%28`,
      status: 400,
      error: badRequest,
    },
    {
      what: `${method} a key too long`,
      method,
      path: (name) => `${base(name)}/${"k".repeat(10_000)}`,
      status: 400,
      error: badRequest,
    },
    {
      what: `${method} an impossible collection name`,
      method,
      path: () => `/lightning/collections/Not!Valid/k`,
      status: 404,
      error: /^Not Found$/,
    },
  ]),
];

describe("bad input on /lightning/collections (SPEC §5, §6)", () => {
  it.for([...bodyCases, ...postCases, ...readCases].map((k) => [k.what, k] as const))(
    "%s",
    async ([_what, k], { server, tenant, collection: name, auth }) => {
      const before = k.method === "GET" ? undefined : await storedItems(server, tenant.project.id, name);
      const r = await rawRequest(server, k.method, k.path(name), { ...auth, ...k.headers }, k.body?.());
      expect(r.status, r.text).toBe(k.status);
      if (k.status === 422) expect(r.body).toEqual({ upserted: 0, error: expect.stringMatching(k.error) });
      else expect(r.body).toEqual({ error: expect.stringMatching(k.error) });
      assertNoInternals(r.text);
      if (before) expect(await storedItems(server, tenant.project.id, name)).toEqual(before);
    },
  );
});

describe("write and delete routes ignore parameters they do not use (SPEC §5, as Lightning and the OpenFn CLI)", () => {
  it("PUT, POST, DELETE by key and by pattern, and GET by key answer as if the parameter were absent", async ({
    server,
    tenant,
    auth,
  }) => {
    const own = await tenant.collection();
    const at = `/lightning/collections/${own}`;
    const put = await rawRequest(
      server,
      "PUT",
      `${at}/p?upsert=1&limit=5&limit=6`,
      { ...auth, ...json },
      '{"value":"pv"}',
    );
    expect(put.status, put.text).toBe(200);
    expect(put.body).toEqual({ upserted: 1, error: null });
    const post = await rawRequest(
      server,
      "POST",
      `${at}?key=&limit=1000&foo=1`,
      { ...auth, ...json },
      '{"items":[{"key":"q1","value":"1"},{"key":"q2","value":"2"}]}',
    );
    expect(post.status, post.text).toBe(200);
    expect(post.body).toEqual({ upserted: 2, error: null });
    const get = await rawRequest(server, "GET", `${at}/p?foo=1&cursor=x`, auth);
    expect(get.status, get.text).toBe(200);
    expect(get.body.value).toBe("pv");
    const one = await rawRequest(server, "DELETE", `${at}/p?foo=1`, auth);
    expect(one.body).toEqual({ key: "p", deleted: 1, error: null });
    const many = await rawRequest(server, "DELETE", `${at}?key=q*&limit=1000&foo=1`, auth);
    expect(many.status, many.text).toBe(200);
    expect(many.body).toEqual({ key: "q*", deleted: 2, error: null });
    expect(await storedItems(server, tenant.project.id, own)).toEqual([]);
  });

  it("a parameter the route uses is still checked", async ({ server, tenant, auth }) => {
    const own = await tenant.collection();
    const bad = await rawRequest(
      server,
      "DELETE",
      `/lightning/collections/${own}?key=q*&created_after=yesterday&limit=1000`,
      auth,
    );
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: "Bad Request" });
    const badProject = await rawRequest(
      server,
      "POST",
      `/lightning/collections/${own}?project_id=nope`,
      { ...auth, ...json },
      '{"items":[]}',
    );
    expect(badProject.status).toBe(400);
  });
});

describe("hostile patterns in ?key= match literally", () => {
  const literal: [string, string[]][] = [
    ["a%b", ["a%b"]],
    ["a_b", ["a_b"]],
    ["a\\b", ["a\\b"]],
    ['a"b', ['a"b']],
    ["a'b", ["a'b"]],
    ["*_*", ["a_b"]],
    ["*\\*", ["a\\b"]],
    ["%", []],
    ["_*", []],
    ["' OR '1'='1", []],
    ["x".repeat(1024), []],
  ];
  it.for(literal)("GET ?key=%j", async ([pattern, keys], { server, collection: name, auth }) => {
    const r = await rawRequest(server, "GET", `${base(name)}?key=${encodeURIComponent(pattern)}`, auth);
    expect(r.status, r.text).toBe(200);
    expect(r.body.items.map((i: { key: string }) => i.key)).toEqual(keys);
  });

  it.for(literal.filter(([, keys]) => keys.length === 0))(
    "DELETE ?key=%j deletes nothing",
    async ([pattern], { server, tenant, collection: name, auth }) => {
      const before = await storedItems(server, tenant.project.id, name);
      const r = await rawRequest(server, "DELETE", `${base(name)}?key=${encodeURIComponent(pattern)}`, auth);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ key: pattern, deleted: 0, error: null });
      expect(await storedItems(server, tenant.project.id, name)).toEqual(before);
    },
  );
});

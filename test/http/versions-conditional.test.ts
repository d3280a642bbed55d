import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { describe, expect } from "vitest";
import type { AppRouter } from "../../server/router.js";
import { test } from "../support/fixtures.js";
import { keyPath } from "../support/items.js";
import { rawRequest, type RawAnswer } from "../support/raw.js";
import type { TenantUser } from "../support/tenant.js";

// SPEC §9.1: versions, ETag on exact-key reads, PUT with If-Match / If-None-Match, conditional DELETE,
// batch if_version / if_absent, on REST and tRPC; the Lightning dialect's writes bump versions too.

const it = test.extend("client", { scope: "file" }, ({ server }) => (user: TenantUser) => {
  const headers = () => user.headers;
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${server.url}/trpc`, headers })] });
});
it.override({ serverEnv: { MAX_VALUE_CHARS: "1000", MAX_BODY_BYTES: "4096" } });

type Server = { url: string };

/** PUT /collections/{name}/{key}[query] with the value's JSON text as the body. */
const put = (
  server: Server,
  user: TenantUser | undefined,
  name: string,
  key: string,
  body: string,
  headers: Record<string, string> = {},
  query = "",
): Promise<RawAnswer> =>
  rawRequest(
    server,
    "PUT",
    `/collections/${name}/${keyPath(key)}${query}`,
    { ...(user?.headers ?? {}), "content-type": "application/json", ...headers },
    body,
  );

const get = (server: Server, user: TenantUser, path: string, headers: Record<string, string> = {}) =>
  rawRequest(server, "GET", path, { ...user.headers, ...headers });

const del = (server: Server, user: TenantUser, path: string, headers: Record<string, string> = {}) =>
  rawRequest(server, "DELETE", path, { ...user.headers, ...headers });

const post = (server: Server, user: TenantUser, name: string, items: unknown) =>
  rawRequest(
    server,
    "POST",
    `/collections/${name}`,
    { ...user.headers, "content-type": "application/json" },
    JSON.stringify(items),
  );

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/** The version of a key as an exact GET's ETag says (undefined when there is none). */
async function etagVersion(server: Server, user: TenantUser, name: string, key: string) {
  const r = await get(server, user, `/collections/${name}/${keyPath(key)}`);
  expect(r.status).toBe(200);
  const etag = r.headers.get("etag");
  return etag === null ? undefined : Number(/^"(\d+)"$/.exec(etag)![1]);
}

/** The 412 answer of a condition that did not hold. */
function expectPreconditionFailed(r: RawAnswer, current: number | null): void {
  expect(r.status, r.text).toBe(412);
  expect(r.body).toEqual({
    code: "PRECONDITION_FAILED",
    message: expect.any(String),
    current_version: current,
  });
  expect(r.body.message).toMatch(
    current === null ? /does not exist/ : new RegExp(`version is ${current}\\b`),
  );
}

describe("reads: ETag, version, _meta.version", () => {
  it("an exact-key GET answers ETag with the version; every item carries it; meta=true adds it to _meta", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const created = await put(server, tenant.users.editor, name, "k", '{"a":1}');
    expect(created.status, created.text).toBe(201);
    const version: number = created.body.version;
    expect(created.headers.get("etag")).toBe(`"${version}"`);

    const r = await get(server, tenant.users.viewer, `/collections/${name}/k`);
    expect(r.headers.get("etag")).toBe(`"${version}"`);
    expect(r.body.results).toEqual([
      { key: "k", value: { a: 1 }, created: created.body.created, updated: created.body.updated, version },
    ]);
    // The item's members, in this order, the version a JSON number.
    expect(r.text).toBe(
      `{"results":[{"key":"k","value":{"a":1},"created":"${created.body.created}","updated":"${created.body.updated}","version":${version}}],"end_offset":1,"cursor":null}`,
    );

    const meta = await get(server, tenant.users.viewer, `/collections/${name}/k?meta=true`);
    expect(meta.text).toContain(
      `"value":{"a":1,"_meta":{"created":"${created.body.created}","updated":"${created.body.updated}","version":${version}}}`,
    );

    // No ETag where the answer is not one item's: a pattern, time filters, an offset, a missing key.
    for (const path of [`k*`, `k?created_after=2020-01-01`, `k?offset=1`, `missing`]) {
      const other = await get(server, tenant.users.viewer, `/collections/${name}/${path}`);
      expect(other.status, path).toBe(200);
      expect(other.headers.get("etag"), path).toBeNull();
    }
    const pattern = await get(server, tenant.users.viewer, `/collections/${name}/k*`);
    expect(pattern.body.results[0].version).toBe(version);

    // HEAD of an exact key: the same ETag, no body.
    const head = await rawRequest(server, "HEAD", `/collections/${name}/k`, tenant.users.viewer.headers);
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(`"${version}"`);
  });

  it("If-None-Match on an exact GET: 304 when it matches, the item otherwise; malformed is 400", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const { version } = (await put(server, tenant.users.editor, name, "k", "1")).body;
    const path = `/collections/${name}/k`;
    for (const tag of [`"${version}"`, `W/"${version}"`, `"1", "${version}"`, "*"]) {
      const r = await get(server, tenant.users.viewer, path, { "if-none-match": tag });
      expect(r.status, tag).toBe(304);
      expect(r.text, tag).toBe("");
      expect(r.headers.get("etag"), tag).toBe(`"${version}"`);
    }
    const head = await rawRequest(server, "HEAD", path, {
      ...tenant.users.viewer.headers,
      "if-none-match": `"${version}"`,
    });
    expect(head.status).toBe(304);
    for (const tag of [`"${version - 1}"`, `"${version + 1}"`, `"x"`]) {
      const r = await get(server, tenant.users.viewer, path, { "if-none-match": tag });
      expect(r.status, tag).toBe(200);
      expect(r.body.results[0].value).toBe(1);
    }
    // A missing key matches no tag (not even *): 200 with no results.
    const missing = await get(server, tenant.users.viewer, `/collections/${name}/none`, {
      "if-none-match": "*",
    });
    expect(missing.status).toBe(200);
    expect(missing.body.results).toEqual([]);
    for (const tag of [`${version}`, `"${version}`, `"1" "2"`]) {
      const bad = await get(server, tenant.users.viewer, path, { "if-none-match": tag });
      expect(bad.status, tag).toBe(400);
      expect(bad.body.message, tag).toMatch(/"If-None-Match"/);
      expect(bad.body.issues[0].path).toBe("If-None-Match");
    }
  });
});

describe("PUT /collections/{name}/{key}", () => {
  it("201 when created, 200 when updated, {key, version, created, updated, expires}; the value kept byte for byte", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const text = '{"n":9007199254740993,"x":1.0,"big":1e400,"neg":-0,"s":"\\u00e9"}';
    const first = await put(server, tenant.users.editor, name, "a/b c", text);
    expect(first.status, first.text).toBe(201);
    expect(Object.keys(first.body)).toEqual(["key", "version", "created", "updated", "expires"]);
    expect(first.body).toMatchObject({ key: "a/b c", expires: null });
    expect(first.body.created).toMatch(ISO);
    expect(first.body.updated).toBe(first.body.created);
    expect(first.headers.get("etag")).toBe(`"${first.body.version}"`);
    const back = await get(server, tenant.users.viewer, `/collections/${name}/${keyPath("a/b c")}`);
    expect(back.text).toContain(`"value":${text},`);

    const second = await put(server, tenant.users.editor, name, "a/b c", " [ 1 , 2 ] ");
    expect(second.status, second.text).toBe(200);
    expect(second.body.version).toBeGreaterThan(first.body.version);
    expect(second.body.created).toBe(first.body.created);
    expect(second.body.updated >= first.body.updated).toBe(true);
    expect(
      (await get(server, tenant.users.viewer, `/collections/${name}/${keyPath("a/b c")}`)).text,
    ).toContain(`"value":[1,2],`);

    // A `*` in the key of a PUT is the character itself (a key, not a pattern).
    const star = await put(server, tenant.users.editor, name, "s*", '"star"');
    expect(star.status).toBe(201);
    expect(star.body.key).toBe("s*");

    // Expiry: ttl_seconds or expires_at in the query (SPEC §9.2).
    const ttl = await put(server, tenant.users.editor, name, "t", "1", {}, "?ttl_seconds=3600");
    expect(ttl.status, ttl.text).toBe(201);
    const expires = Date.parse(ttl.body.expires) - Date.parse(ttl.body.updated);
    expect(expires).toBe(3_600_000);
    const at = await put(server, tenant.users.editor, name, "u", "1", {}, "?expires_at=2100-01-01T00:00:00Z");
    expect(at.body.expires).toBe("2100-01-01T00:00:00.000000Z");
    const narrowed = await put(
      server,
      tenant.users.editor,
      name,
      "p",
      "1",
      {},
      `?project_id=${tenant.project.id}`,
    );
    expect(narrowed.status).toBe(201);
  });

  it("If-Match: written only at the current version, otherwise 412 with the current version", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const v1 = (await put(server, tenant.users.editor, name, "k", "1")).body.version;
    const ok = await put(server, tenant.users.editor, name, "k", "2", { "if-match": `"${v1}"` });
    expect(ok.status, ok.text).toBe(200);
    const v2 = ok.body.version;
    expect(v2).toBeGreaterThan(v1);
    expect(ok.headers.get("etag")).toBe(`"${v2}"`);

    const stale = await put(server, tenant.users.editor, name, "k", "3", { "if-match": `"${v1}"` });
    expectPreconditionFailed(stale, v2);
    expect((await get(server, tenant.users.viewer, `/collections/${name}/k`)).body.results[0].value).toBe(2);

    expectPreconditionFailed(
      await put(server, tenant.users.editor, name, "none", "1", { "if-match": `"${v1}"` }),
      null,
    );
    // If-Match: * needs the item to exist; If-None-Match: * needs it absent.
    expectPreconditionFailed(
      await put(server, tenant.users.editor, name, "none", "1", { "if-match": "*" }),
      null,
    );
    const any = await put(server, tenant.users.editor, name, "k", "4", { "if-match": "*" });
    expect(any.status).toBe(200);
    expectPreconditionFailed(
      await put(server, tenant.users.editor, name, "k", "5", { "if-none-match": "*" }),
      any.body.version,
    );
    const fresh = await put(server, tenant.users.editor, name, "new", "1", { "if-none-match": "*" });
    expect(fresh.status).toBe(201);
    expect((await get(server, tenant.users.viewer, `/collections/${name}/k`)).body.results[0].value).toBe(4);
  });

  it("bad headers, parameters and bodies: 400 naming them, 413, 415", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const editor = tenant.users.editor;
    await put(server, editor, name, "k", "1");
    for (const tag of ["5", 'W/"5"', '"5", "6"', '"abc"', '"0"', '"-1"', "", '"99999999999999999999"']) {
      const r = await put(server, editor, name, "k", "2", { "if-match": tag });
      expect(r.status, `If-Match: ${tag}`).toBe(400);
      expect(r.body.message).toMatch(/^Invalid parameter "If-Match": /);
      expect(r.body.issues).toEqual([{ path: "If-Match", message: expect.any(String) }]);
    }
    for (const tag of ['"5"', "5", "**"]) {
      const r = await put(server, editor, name, "k", "2", { "if-none-match": tag });
      expect(r.status, `If-None-Match: ${tag}`).toBe(400);
      expect(r.body.message).toMatch(/^Invalid parameter "If-None-Match": /);
    }
    const both = await put(server, editor, name, "k", "2", { "if-match": "*", "if-none-match": "*" });
    expect(both.status).toBe(400);
    expect(both.body.message).toMatch(/If-Match.*If-None-Match|If-None-Match.*If-Match/);
    for (const [query, param] of [
      ["?ttl_seconds=0", "ttl_seconds"],
      ["?ttl_seconds=abc", "ttl_seconds"],
      ["?ttl_seconds=99999999999", "ttl_seconds"],
      ["?expires_at=tomorrow", "expires_at"],
      ["?expires_at=2030-01-01T00:00:00", "expires_at"],
      ["?ttl_seconds=5&expires_at=2100-01-01T00:00:00Z", "ttl_seconds"],
      ["?foo=1", "foo"],
      ["?project_id=nope", "project_id"],
    ] as const) {
      const r = await put(server, editor, name, "k", "2", {}, query);
      expect(r.status, query).toBe(400);
      expect(r.body.message, query).toContain(`"${param}"`);
    }
    const notJson = await put(server, editor, name, "k", "{nope");
    expect(notJson.status).toBe(400);
    expect(notJson.body.message).toMatch(/not valid JSON/);
    const empty = await put(server, editor, name, "k", "");
    expect(empty.status).toBe(400);
    const text = await put(server, editor, name, "k", "1", { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    const long = await put(server, editor, name, "x".repeat(256), "1");
    expect(long.status).toBe(400);
    expect(long.body.message).toMatch(/"key".*MAX_KEY_LENGTH/);
    // The body is the value: a value over MAX_VALUE_CHARS is a body too large (413), as one over MAX_BODY_BYTES.
    const big = await put(server, editor, name, "k", JSON.stringify("x".repeat(1000)));
    expect(big.status).toBe(413);
    expect(big.body).toEqual({
      code: "PAYLOAD_TOO_LARGE",
      message: "The value has 1002 characters once serialized; at most 1000 are allowed (MAX_VALUE_CHARS)",
    });
    const huge = await put(server, editor, name, "k", JSON.stringify("x".repeat(5000)));
    expect(huge.status).toBe(413);
    expect(huge.body.message).toMatch(/MAX_BODY_BYTES/);
    expect((await get(server, tenant.users.viewer, `/collections/${name}/k`)).body.results[0].value).toBe(1);
  });

  it("401 without a valid token, 403 without write permission, 404 for a collection the caller cannot see", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    expect((await put(server, undefined, name, "k", "1")).status).toBe(401);
    expect(
      (
        await put(
          server,
          { ...tenant.users.editor, headers: { authorization: "Bearer nope" } },
          name,
          "k",
          "1",
        )
      ).status,
    ).toBe(401);
    const viewer = await put(server, tenant.users.viewer, name, "k", "1");
    expect(viewer.status).toBe(403);
    expect(viewer.body.code).toBe("FORBIDDEN");
    const readOnly = await server.services.auth.createUserToken({
      userId: tenant.users.editor.id,
      scope: "read",
    });
    const scoped = await put(
      server,
      { ...tenant.users.editor, headers: { authorization: `Bearer ${readOnly.token}` } },
      name,
      "k",
      "1",
    );
    expect(scoped.status).toBe(403);
    expect((await put(server, tenant.outsider, name, "k", "1")).status).toBe(404);
    expect((await put(server, tenant.users.editor, "no-such-collection", "k", "1")).status).toBe(404);
    // A refused request writes nothing.
    expect((await get(server, tenant.users.viewer, `/collections/${name}`)).body.results).toEqual([]);
  });
});

describe("DELETE /collections/{name}/{key} with If-Match", () => {
  it("deletes only at the current version; 412 with the current version otherwise", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const editor = tenant.users.editor;
    const v1 = (await put(server, editor, name, "k", "1")).body.version;
    const v2 = (await put(server, editor, name, "k", "2")).body.version;
    expectPreconditionFailed(
      await del(server, editor, `/collections/${name}/k`, { "if-match": `"${v1}"` }),
      v2,
    );
    expect(await etagVersion(server, tenant.users.viewer, name, "k")).toBe(v2);
    const ok = await del(server, editor, `/collections/${name}/k`, { "if-match": `"${v2}"` });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toEqual({ keys: ["k"], deleted: 1 });
    expectPreconditionFailed(
      await del(server, editor, `/collections/${name}/k`, { "if-match": `"${v2}"` }),
      null,
    );
    expectPreconditionFailed(await del(server, editor, `/collections/${name}/k`, { "if-match": "*" }), null);
    await put(server, editor, name, "k", "3");
    expect((await del(server, editor, `/collections/${name}/k`, { "if-match": "*" })).body).toEqual({
      keys: ["k"],
      deleted: 1,
    });
    // Without If-Match, an exact key still deletes as before (200, deleted 0 when absent).
    expect((await del(server, editor, `/collections/${name}/k`)).body).toEqual({ keys: [], deleted: 0 });
  });

  it("If-Match with a pattern, no key, or dry_run / max_affected / time filters is 400 naming the header; roles as a delete", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    await put(server, tenant.users.editor, name, "k1", "1");
    for (const path of [`k*`, ``, `k1?dry_run=true`, `k1?max_affected=1`, `k1?created_after=2020-01-01`]) {
      const r = await del(server, tenant.users.owner, `/collections/${name}${path ? "/" + path : ""}`, {
        "if-match": "*",
      });
      expect(r.status, path).toBe(400);
      expect(r.body.message, path).toMatch(/^Invalid parameter "If-Match": /);
    }
    const bad = await del(server, tenant.users.editor, `/collections/${name}/k1`, { "if-match": "1" });
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].path).toBe("If-Match");
    expect(
      (await del(server, tenant.users.viewer, `/collections/${name}/k1`, { "if-match": "*" })).status,
    ).toBe(403);
    expect((await del(server, tenant.outsider, `/collections/${name}/k1`, { "if-match": "*" })).status).toBe(
      404,
    );
    expect((await rawRequest(server, "DELETE", `/collections/${name}/k1`, { "if-match": "*" })).status).toBe(
      401,
    );
    expect(await etagVersion(server, tenant.users.viewer, name, "k1")).toBeTypeOf("number");
  });
});

describe("batch POST with if_version / if_absent", () => {
  it("a failed condition is a per-item VERSION_MISMATCH with the current version; the other items are written", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const editor = tenant.users.editor;
    const a = (await put(server, editor, name, "a", "1")).body.version;
    const b = (await put(server, editor, name, "b", "1")).body.version;
    const r = await post(server, editor, name, [
      { key: "a", value: 2, if_version: a },
      { key: "b", value: 2, if_version: b - 1 },
      { key: "c", value: 2, if_absent: true },
      { key: "a2", value: 2, if_version: a },
      { key: "b2", value: 2, if_absent: false },
      { key: "b", value: 3, if_absent: true, extra: "ignored" },
    ]);
    expect(r.status, r.text).toBe(201);
    // "b" is given twice: both refused as repeated; the condition errors carry the code and version.
    expect(r.body.upserted).toBe(3);
    expect(r.body.errors).toEqual([
      { index: 1, key: "b", message: expect.stringMatching(/repeated/) },
      { index: 3, key: "a2", message: expect.any(String), code: "VERSION_MISMATCH", current_version: null },
      { index: 5, key: "b", message: expect.stringMatching(/repeated/) },
    ]);
    expect(await etagVersion(server, tenant.users.viewer, name, "a")).toBeGreaterThan(a);

    const again = await post(server, editor, name, [
      { key: "b", value: 9, if_version: b - 1 },
      { key: "c", value: 9, if_absent: true },
      { key: "d", value: 9, if_absent: true },
    ]);
    expect(again.status, again.text).toBe(201);
    expect(again.body.upserted).toBe(1);
    const c = await etagVersion(server, tenant.users.viewer, name, "c");
    expect(again.body.errors).toEqual([
      {
        index: 0,
        key: "b",
        code: "VERSION_MISMATCH",
        current_version: b,
        message: `the condition did not hold: the item's current version is ${b}`,
      },
      { index: 1, key: "c", code: "VERSION_MISMATCH", current_version: c, message: expect.any(String) },
    ]);
    const values = await get(server, tenant.users.viewer, `/collections/${name}`);
    expect(
      Object.fromEntries(values.body.results.map((i: { key: string; value: unknown }) => [i.key, i.value])),
    ).toEqual({ a: 2, b: 1, c: 2, b2: 2, d: 9 });

    // Nothing written at all: 422 with the same body shape.
    const none = await post(server, editor, name, [{ key: "a", value: 0, if_version: a }]);
    expect(none.status).toBe(422);
    expect(none.body.upserted).toBe(0);
    expect(none.body.errors[0]).toMatchObject({ index: 0, key: "a", code: "VERSION_MISMATCH" });
    for (const bad of [
      { if_version: 0 },
      { if_version: "x" },
      { if_absent: "yes" },
      { if_version: 1, if_absent: true },
    ]) {
      const res = await post(server, editor, name, [{ key: "z", value: 0, ...bad }]);
      expect(res.status, JSON.stringify(bad)).toBe(422);
      expect(res.body.errors[0].code, JSON.stringify(bad)).toBeUndefined();
      expect(res.body.errors[0].message, JSON.stringify(bad)).toMatch(/if_version|if_absent/);
    }
  });
});

describe("versions across dialects and deletes", () => {
  it("Lightning writes bump the version; its wire format is unchanged", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const lightning = (method: string, path: string, body?: unknown) =>
      rawRequest(
        server,
        method,
        `/lightning/collections/${name}${path}`,
        { ...tenant.users.editor.headers, "content-type": "application/json" },
        body === undefined ? undefined : JSON.stringify(body),
      );
    expect((await lightning("PUT", "/k", { value: "one" })).body).toEqual({ upserted: 1, error: null });
    const v1 = await etagVersion(server, tenant.users.viewer, name, "k");
    expect(v1).toBeTypeOf("number");
    expect((await lightning("POST", "", { items: [{ key: "k", value: "two" }] })).body).toEqual({
      upserted: 1,
      error: null,
    });
    const v2 = await etagVersion(server, tenant.users.viewer, name, "k");
    expect(v2).toBeGreaterThan(v1!);
    const one = await lightning("GET", "/k");
    expect(Object.keys(one.body)).toEqual(["key", "value", "created", "updated"]);
    const list = await lightning("GET", "");
    expect(Object.keys(list.body.items[0])).toEqual(["key", "value", "created", "updated"]);
    // A REST If-Match with the version read after the Lightning write holds.
    const r = await put(server, tenant.users.editor, name, "k", '"three"', { "if-match": `"${v2}"` });
    expect(r.status).toBe(200);
    expect((await lightning("GET", "/k")).body.value).toBe("three");
  });

  it("after delete and re-create, a version never equals an earlier one", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const editor = tenant.users.editor;
    const seen: number[] = [];
    const path = `/collections/${name}/k`;
    seen.push((await put(server, editor, name, "k", "1")).body.version);
    seen.push((await put(server, editor, name, "k", "2")).body.version);
    await del(server, editor, path);
    const recreated = await put(server, editor, name, "k", "1");
    expect(recreated.status).toBe(201);
    seen.push(recreated.body.version);
    await del(server, editor, `/collections/${name}/k*`);
    await post(server, editor, name, [{ key: "k", value: 1 }]);
    seen.push((await etagVersion(server, tenant.users.viewer, name, "k"))!);
    await rawRequest(server, "DELETE", `/lightning/collections/${name}/k`, editor.headers);
    await rawRequest(
      server,
      "PUT",
      `/lightning/collections/${name}/k`,
      { ...editor.headers, "content-type": "application/json" },
      '{"value":"1"}',
    );
    seen.push((await etagVersion(server, tenant.users.viewer, name, "k"))!);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
    // An If-Match with a version from before the delete never matches the re-created item.
    for (const old of seen.slice(0, -1)) {
      expectPreconditionFailed(
        await put(server, editor, name, "k", "0", { "if-match": `"${old}"` }),
        seen[seen.length - 1]!,
      );
    }
  });
});

describe("tRPC", () => {
  it("items.put writes one item with conditions; a failed one is PRECONDITION_FAILED with the current version", async ({
    tenant,
    client,
  }) => {
    const name = await tenant.collection();
    const editor = client(tenant.users.editor);
    const first = await editor.items.put.mutate({ name, key: "k", value: { n: 1 } });
    expect(first).toEqual({
      key: "k",
      version: expect.any(Number),
      created: expect.stringMatching(ISO),
      updated: first.created,
      expires: null,
    });
    const second = await editor.items.put.mutate({
      name,
      key: "k",
      value: { n: 2 },
      if_version: first.version,
      ttl_seconds: 60,
    });
    expect(second.version).toBeGreaterThan(first.version);
    expect(second.created).toBe(first.created);
    expect(Date.parse(second.expires!) - Date.parse(second.updated)).toBe(60_000);

    const failure = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(TRPCClientError);
      return (e as TRPCClientError<AppRouter>).data!;
    };
    const stale = await failure(
      editor.items.put.mutate({ name, key: "k", value: 3, if_version: first.version }),
    );
    expect(stale).toMatchObject({
      code: "PRECONDITION_FAILED",
      httpStatus: 412,
      current_version: second.version,
    });
    const exists = await failure(editor.items.put.mutate({ name, key: "k", value: 3, if_absent: true }));
    expect(exists).toMatchObject({ code: "PRECONDITION_FAILED", current_version: second.version });
    const absent = await failure(editor.items.put.mutate({ name, key: "none", value: 3, if_version: 1 }));
    expect(absent).toMatchObject({ code: "PRECONDITION_FAILED", current_version: null });
    expect(await failure(editor.items.put.mutate({ name, key: "k", value: undefined }))).toMatchObject({
      code: "BAD_REQUEST",
      issues: [{ path: "value", message: expect.any(String) }],
    });
    expect(
      await failure(editor.items.put.mutate({ name, key: "k", value: 1, if_version: 1, if_absent: true })),
    ).toMatchObject({ code: "BAD_REQUEST" });
    expect(await failure(editor.items.put.mutate({ name, key: "k", value: "x".repeat(1000) }))).toMatchObject(
      {
        code: "PAYLOAD_TOO_LARGE",
      },
    );
    expect(
      await failure(client(tenant.users.viewer).items.put.mutate({ name, key: "k", value: 1 })),
    ).toMatchObject({ code: "FORBIDDEN" });

    // Reads carry the version; meta=true adds it to _meta.
    const page = await editor.items.get.query({ name, key: "k", meta: true });
    expect(page.results[0]).toEqual({
      key: "k",
      value: { n: 2, _meta: { created: second.created, updated: second.updated, version: second.version } },
      created: second.created,
      updated: second.updated,
      version: second.version,
    });
  });

  it("items.delete with if_version deletes one exact key at that version", async ({ tenant, client }) => {
    const name = await tenant.collection();
    const editor = client(tenant.users.editor);
    const { version } = await editor.items.put.mutate({ name, key: "k", value: 1 });
    const e = await editor.items.delete
      .mutate({ name, key: "k", if_version: version + 1 })
      .catch((err) => err);
    expect((e as TRPCClientError<AppRouter>).data).toMatchObject({
      code: "PRECONDITION_FAILED",
      current_version: version,
    });
    const pattern = await editor.items.delete
      .mutate({ name, key: "k*", if_version: version })
      .catch((err) => err);
    expect((pattern as TRPCClientError<AppRouter>).data).toMatchObject({
      code: "BAD_REQUEST",
      issues: [{ path: "if_version", message: expect.any(String) }],
    });
    expect(await editor.items.delete.mutate({ name, key: "k", if_version: version })).toEqual({
      keys: ["k"],
      deleted: 1,
      keys_truncated: false,
    });
    const gone = await editor.items.delete
      .mutate({ name, key: "k", if_version: version })
      .catch((err) => err);
    expect((gone as TRPCClientError<AppRouter>).data).toMatchObject({
      code: "PRECONDITION_FAILED",
      current_version: null,
    });
  });
});

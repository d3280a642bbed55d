import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { call } from "../support/items.js";

// Issue 11, defect 15 (SPEC §4): one error body on every REST surface, with the same message and issues
// for the same mistake whether the route is served by trpc-to-openapi (GET /collections, POST /tokens) or
// by a raw handler (GET/POST/DELETE /collections/{name}[/{key}]).

const it = test
  .extend("collection", { scope: "file" }, ({ tenant }) => tenant.collection())
  /** How many tokens the editor has. */
  .extend(
    "tokenCount",
    { scope: "file" },
    ({ server, tenant }) =>
      async (): Promise<number> =>
        server.services.db.prisma.accessToken.count({ where: { userId: tenant.users.editor.id } }),
  );

const unknownFoo = {
  code: "BAD_REQUEST",
  message: 'Unknown parameter "foo"',
  issues: [{ path: "foo", message: "unknown parameter" }],
};

describe("15. an unknown query parameter gets one body on every REST route", () => {
  it('GET /collections?foo=1 (trpc-to-openapi): 400 Unknown parameter "foo" with its issue', async ({
    server,
    tenant,
  }) => {
    const r = await call(server, tenant.users.viewer, "GET", "/collections?foo=1");
    expect(r.status, r.text).toBe(400);
    expect(r.body, r.text).toEqual(unknownFoo);
  });

  it.for([
    ["GET", (name: string) => `/collections/${name}?foo=1`],
    ["GET", (name: string) => `/collections/${name}/k?foo=1`],
    ["DELETE", (name: string) => `/collections/${name}/k?foo=1`],
  ] as const)(
    "%s raw route (…?foo=1): the same body",
    async ([method, path], { server, tenant, collection: name }) => {
      const r = await call(server, tenant.users.editor, method, path(name));
      expect(r.status, r.text).toBe(400);
      expect(r.body, r.text).toEqual(unknownFoo);
    },
  );

  it("POST /collections/c?foo=1 (raw upsert): the same body", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const r = await call(server, tenant.users.editor, "POST", `/collections/${name}?foo=1`, [
      { key: "k", value: 1 },
    ]);
    expect(r.status, r.text).toBe(400);
    expect(r.body, r.text).toEqual(unknownFoo);
  });

  it("two unknown parameters: one issue each, in both kinds of route alike", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const openapi = await call(server, tenant.users.viewer, "GET", "/collections?foo=1&bar=2");
    const raw = await call(server, tenant.users.viewer, "GET", `/collections/${name}?foo=1&bar=2`);
    expect(openapi.status, openapi.text).toBe(400);
    expect(raw.status, raw.text).toBe(400);
    expect(openapi.body, `${openapi.text} vs ${raw.text}`).toEqual(raw.body);
    expect(raw.body.issues.map((i: { path: string }) => i.path).sort()).toEqual(["bar", "foo"]);
  });

  it("a malformed project_id: the same message and issues on GET /collections and GET /collections/c", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const openapi = await call(server, tenant.users.viewer, "GET", "/collections?project_id=nope");
    const raw = await call(server, tenant.users.viewer, "GET", `/collections/${name}?project_id=nope`);
    expect(openapi.status, openapi.text).toBe(400);
    expect(raw.status, raw.text).toBe(400);
    expect(openapi.body, `${openapi.text} vs ${raw.text}`).toEqual(raw.body);
    expect(raw.body).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("project_id"),
      issues: [{ path: "project_id" }],
    });
  });
});

describe("15. a body field is named the same way as a parameter", () => {
  it("POST /tokens with an unknown body field: 400 whose issue path is the field (as upsert's is the parameter), no token created", async ({
    server,
    tenant,
    tokenCount,
  }) => {
    const before = await tokenCount();
    const r = await call(server, tenant.users.editor, "POST", "/tokens", { label: "x", foo: 1 });
    expect(r.status, r.text).toBe(400);
    expect(r.body).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^Unknown (parameter|field) "foo"$/),
    });
    expect(r.body.issues, r.text).toEqual([
      { path: "foo", message: expect.stringMatching(/^unknown (parameter|field)$/) },
    ]);
    expect(await tokenCount()).toBe(before);
  });

  it('POST /tokens with a malformed field: 400 whose issue path is the field name (never "(input)" or "body.…")', async ({
    server,
    tenant,
    tokenCount,
  }) => {
    const before = await tokenCount();
    const r = await call(server, tenant.users.editor, "POST", "/tokens", { expires_in: "soon" });
    expect(r.status, r.text).toBe(400);
    expect(r.body).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("expires_in") });
    expect(r.body.issues, r.text).toEqual([{ path: "expires_in", message: expect.any(String) }]);
    expect(await tokenCount()).toBe(before);
  });
});

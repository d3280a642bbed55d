import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../support/items.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { createTenant, type Tenant } from "../support/tenant.js";

// Issue 11, defect 15 (SPEC §4): one error body on every REST surface, with the same message and issues
// for the same mistake whether the route is served by trpc-to-openapi (GET /collections, POST /tokens) or
// by a raw handler (GET/POST/DELETE /collections/{name}[/{key}]).

let server: TestServer;
let tenant: Tenant;
let name: string;
beforeAll(async () => {
  server = await startTestServer();
  tenant = await createTenant(server.services);
  name = await tenant.collection();
});
afterAll(async () => {
  await tenant?.cleanup();
  await server?.close();
});

const unknownFoo = { code: "BAD_REQUEST", message: 'Unknown parameter "foo"', issues: [{ path: "foo", message: "unknown parameter" }] };

describe("15. an unknown query parameter gets one body on every REST route", () => {
  it("GET /collections?foo=1 (trpc-to-openapi): 400 Unknown parameter \"foo\" with its issue", async () => {
    const r = await call(server, tenant.users.viewer, "GET", "/collections?foo=1");
    expect(r.status, r.text).toBe(400);
    expect(r.body, r.text).toEqual(unknownFoo);
  });

  it.each([
    ["GET", () => `/collections/${name}?foo=1`],
    ["GET", () => `/collections/${name}/k?foo=1`],
    ["DELETE", () => `/collections/${name}/k?foo=1`],
  ])("%s raw route (…?foo=1): the same body", async (method, path) => {
    const r = await call(server, tenant.users.editor, method, path());
    expect(r.status, r.text).toBe(400);
    expect(r.body, r.text).toEqual(unknownFoo);
  });

  it("POST /collections/c?foo=1 (raw upsert): the same body", async () => {
    const r = await call(server, tenant.users.editor, "POST", `/collections/${name}?foo=1`, [{ key: "k", value: 1 }]);
    expect(r.status, r.text).toBe(400);
    expect(r.body, r.text).toEqual(unknownFoo);
  });

  it("two unknown parameters: one issue each, in both kinds of route alike", async () => {
    const openapi = await call(server, tenant.users.viewer, "GET", "/collections?foo=1&bar=2");
    const raw = await call(server, tenant.users.viewer, "GET", `/collections/${name}?foo=1&bar=2`);
    expect(openapi.status, openapi.text).toBe(400);
    expect(raw.status, raw.text).toBe(400);
    expect(openapi.body, `${openapi.text} vs ${raw.text}`).toEqual(raw.body);
    expect(raw.body.issues.map((i: { path: string }) => i.path).sort()).toEqual(["bar", "foo"]);
  });

  it("a malformed project_id: the same message and issues on GET /collections and GET /collections/c", async () => {
    const openapi = await call(server, tenant.users.viewer, "GET", "/collections?project_id=nope");
    const raw = await call(server, tenant.users.viewer, "GET", `/collections/${name}?project_id=nope`);
    expect(openapi.status, openapi.text).toBe(400);
    expect(raw.status, raw.text).toBe(400);
    expect(openapi.body, `${openapi.text} vs ${raw.text}`).toEqual(raw.body);
    expect(raw.body).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("project_id"), issues: [{ path: "project_id" }] });
  });
});

describe("15. a body field is named the same way as a parameter", () => {
  async function tokenCount(): Promise<number> {
    return server.services.db.prisma.accessToken.count({ where: { userId: tenant.users.editor.id } });
  }

  it("POST /tokens with an unknown body field: 400 whose issue path is the field (as upsert's is the parameter), no token created", async () => {
    const before = await tokenCount();
    const r = await call(server, tenant.users.editor, "POST", "/tokens", { label: "x", foo: 1 });
    expect(r.status, r.text).toBe(400);
    expect(r.body).toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/^Unknown (parameter|field) "foo"$/) });
    expect(r.body.issues, r.text).toEqual([{ path: "foo", message: expect.stringMatching(/^unknown (parameter|field)$/) }]);
    expect(await tokenCount()).toBe(before);
  });

  it("POST /tokens with a malformed field: 400 whose issue path is the field name (never \"(input)\" or \"body.…\")", async () => {
    const before = await tokenCount();
    const r = await call(server, tenant.users.editor, "POST", "/tokens", { expires_in: "soon" });
    expect(r.status, r.text).toBe(400);
    expect(r.body).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("expires_in") });
    expect(r.body.issues, r.text).toEqual([{ path: "expires_in", message: expect.any(String) }]);
    expect(await tokenCount()).toBe(before);
  });
});

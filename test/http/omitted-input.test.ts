import { describe, expect } from "vitest";
import { it } from "../support/fixtures.js";
import { call } from "../support/items.js";

// SPEC §4: an input with no required field may be omitted. On REST that is a POST with no body at all
// (as `curl -X POST` sends it); the contract's defaults apply, and a route that needs fields names them.

describe("a POST with no body", () => {
  it("creates a token with the defaults, with or without a JSON content type", async ({ server, tenant }) => {
    for (const headers of [{}, { "content-type": "application/json" }] as Record<string, string>[]) {
      const r = await call(
        server,
        { ...tenant.users.editor, headers: { ...tenant.users.editor.headers, ...headers } },
        "POST",
        "/tokens",
      );
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ scope: "write", token: expect.any(String) });
    }
  });

  it("on a route with a required field is a 400 naming that field", async ({ server, tenant }) => {
    const r = await call(server, tenant.users.owner, "POST", `/projects/${tenant.project.id}/collections`);
    expect(r.status).toBe(400);
    expect(r.body.issues).toEqual([expect.objectContaining({ path: "name" })]);
  });

  it("still needs a token", async ({ server }) => {
    expect((await call(server, undefined, "POST", "/tokens")).status).toBe(401);
  });
});

import { describe, expect, vi } from "vitest";
import { test } from "../support/fixtures.js";
import { call } from "../support/items.js";
import { rawRequest } from "../support/raw.js";
import type { TestServer } from "../support/server.js";

// SPEC §8.1: each administrative change made through the API writes one audit line naming who (user or
// run, token id), what, to what, and the request id; never a token.

const it = test;

const auditLines = (server: TestServer, requestId: string) =>
  server.services.logs.filter((l) => l.audit === true && l.request_id === requestId);

async function oneAuditLine(server: TestServer, requestId: string): Promise<Record<string, unknown>> {
  return vi.waitFor(() => {
    const lines = auditLines(server, requestId);
    expect(lines).toHaveLength(1);
    return lines[0]!;
  });
}

describe("audit lines of the API (SPEC §8.1)", () => {
  it("tokens created and revoked (REST), by the user and token that asked", async ({ server, tenant }) => {
    const owner = tenant.users.owner;
    const me = await server.services.auth.authenticate(owner.headers.authorization);
    const tokenId = me.kind === "user" ? me.tokenId : "";
    const created = await rawRequest(
      server,
      "POST",
      "/tokens",
      { ...owner.headers, "content-type": "application/json", "x-request-id": "audit-token-create" },
      JSON.stringify({ label: "ci" }),
    );
    expect(created.status).toBe(200);
    const line = await oneAuditLine(server, "audit-token-create");
    expect(line).toMatchObject({
      msg: "audit",
      action: "token.create",
      actor: { kind: "user", user_id: owner.id, token_id: tokenId },
      target: { token_id: created.body.id, user_id: owner.id, scope: "write" },
    });
    expect(JSON.stringify(server.services.logs)).not.toContain(created.body.token);

    const revoked = await rawRequest(server, "DELETE", `/tokens/${created.body.id}`, {
      ...owner.headers,
      "x-request-id": "audit-token-revoke",
    });
    expect(revoked.status).toBe(200);
    expect(await oneAuditLine(server, "audit-token-revoke")).toMatchObject({
      action: "token.revoke",
      actor: { kind: "user", user_id: owner.id, token_id: tokenId },
      target: { token_id: created.body.id },
    });
  });

  it("collections created and deleted (REST and tRPC), run tokens created", async ({ server, tenant }) => {
    const admin = tenant.users.admin;
    const project = tenant.project.id;
    const made = await rawRequest(
      server,
      "POST",
      `/projects/${project}/collections`,
      { ...admin.headers, "content-type": "application/json", "x-request-id": "audit-coll-create" },
      JSON.stringify({ name: "audited" }),
    );
    expect(made.status).toBe(200);
    expect(await oneAuditLine(server, "audit-coll-create")).toMatchObject({
      action: "collection.create",
      actor: { kind: "user", user_id: admin.id },
      target: { project_id: project, collection: "audited", collection_id: made.body.id },
    });

    const gone = await rawRequest(
      server,
      "POST",
      "/trpc/collections.delete",
      { ...admin.headers, "content-type": "application/json", "x-request-id": "audit-coll-delete" },
      JSON.stringify({ project_id: project, name: "audited" }),
    );
    expect(gone.status).toBe(200);
    expect(await oneAuditLine(server, "audit-coll-delete")).toMatchObject({
      action: "collection.delete",
      target: { project_id: project, collection: "audited" },
    });

    const run = await rawRequest(
      server,
      "POST",
      `/projects/${project}/run-tokens`,
      { ...admin.headers, "content-type": "application/json", "x-request-id": "audit-run-token" },
      JSON.stringify({ run_id: "run-7" }),
    );
    expect(run.status).toBe(200);
    expect(await oneAuditLine(server, "audit-run-token")).toMatchObject({
      action: "run_token.create",
      actor: { kind: "user", user_id: admin.id },
      target: { project_id: project, run_id: "run-7", expires_at: run.body.expires_at },
    });
    expect(JSON.stringify(server.services.logs)).not.toContain(run.body.token);
  });

  it("a refused change writes no audit line", async ({ server, tenant }) => {
    const viewer = tenant.users.viewer;
    const r = await rawRequest(
      server,
      "POST",
      `/projects/${tenant.project.id}/collections`,
      { ...viewer.headers, "content-type": "application/json", "x-request-id": "audit-refused" },
      JSON.stringify({ name: "nope" }),
    );
    expect(r.status).toBe(403);
    await vi.waitFor(() =>
      expect(server.services.logs.some((l) => l.request_id === "audit-refused" && l.msg === "request")).toBe(
        true,
      ),
    );
    expect(auditLines(server, "audit-refused")).toEqual([]);
    // Reads write none either.
    expect((await call(server, viewer, "GET", "/collections")).status).toBe(200);
  });
});

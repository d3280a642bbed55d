import { randomUUID } from "node:crypto";
import { describe, expect } from "vitest";
import { bearer, decodePart, send } from "../support/auth.js";
import { test } from "../support/fixtures.js";

// GET/POST /tokens, DELETE /tokens/{id}, POST /projects/{project_id}/run-tokens.

/** POST /projects/{projectId}/run-tokens as this caller. */
const it = test.extend(
  "mint",
  { scope: "file" },
  ({ server }) =>
    (authorization: string, projectId: string, body: object = {}) =>
      send(server, authorization, "POST", `/projects/${projectId}/run-tokens`, body),
);
it.override({ serverEnv: { RUN_TOKEN_TTL_SECONDS: "900", RUN_TOKEN_MAX_TTL_SECONDS: "7200" } });

describe("a user's own tokens", () => {
  it("creates a token that works, lists it without its text, and revokes it", async ({ server, tenant }) => {
    const me = tenant.users.editor.headers.authorization!;
    const created = await send(server, me, "POST", "/tokens", {
      label: "nightly sync",
      scope: "write",
      expires_in: 3600,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({
      label: "nightly sync",
      scope: "write",
      revoked_at: null,
      last_used_at: null,
    });
    expect(Date.parse(created.body.expires_at) - Date.now()).toBeGreaterThan(3500_000);
    expect(decodePart(created.body.token, 1)).toMatchObject({
      sub: `user:${tenant.users.editor.id}`,
      jti: created.body.id,
    });

    const listed = await send(server, bearer(created.body.token), "GET", "/tokens");
    expect(listed.status).toBe(200);
    const row = listed.body.results.find((t: { id: string }) => t.id === created.body.id);
    expect(row).toMatchObject({ label: "nightly sync", scope: "write", revoked_at: null });
    expect(row.token).toBeUndefined();
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);

    const revoked = await send(server, me, "DELETE", `/tokens/${created.body.id}`);
    expect(revoked.body).toEqual({ id: created.body.id, revoked: true });
    expect((await send(server, bearer(created.body.token), "GET", "/tokens")).status).toBe(401);
    const after = await send(server, me, "GET", "/tokens");
    expect(
      after.body.results.find((t: { id: string }) => t.id === created.body.id).revoked_at,
    ).not.toBeNull();
    expect((await send(server, me, "DELETE", `/tokens/${created.body.id}`)).status).toBe(200); // idempotent
  });

  it("lists only the caller's tokens and cannot revoke another user's (404)", async ({ server, tenant }) => {
    const viewerTokens = await send(server, tenant.users.viewer.headers.authorization!, "GET", "/tokens");
    const editorTokens = await send(server, tenant.users.editor.headers.authorization!, "GET", "/tokens");
    const viewerIds = viewerTokens.body.results.map((t: { id: string }) => t.id);
    expect(viewerIds.length).toBeGreaterThan(0);
    expect(editorTokens.body.results.some((t: { id: string }) => viewerIds.includes(t.id))).toBe(false);
    const r = await send(
      server,
      tenant.users.editor.headers.authorization!,
      "DELETE",
      `/tokens/${viewerIds[0]}`,
    );
    expect(r.status).toBe(404);
    expect(r.body.message).toMatch(/no token with id/);
    expect((await send(server, tenant.users.viewer.headers.authorization!, "GET", "/tokens")).status).toBe(
      200,
    );
  });

  it("records last use at most about once a minute", async ({ server, tenant }) => {
    const t = await server.services.auth.createUserToken({
      userId: tenant.users.viewer.id,
      label: "last-used",
    });
    const lastUsed = async () =>
      (await server.services.db.prisma.accessToken.findUniqueOrThrow({ where: { id: t.id } })).lastUsedAt;
    expect(await lastUsed()).toBeNull();
    await send(server, bearer(t.token), "GET", "/tokens");
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    await send(server, bearer(t.token), "GET", "/tokens");
    expect((await lastUsed())!.getTime()).toBe(first!.getTime());
  });

  it("a read-scoped token reads but gets 403 on writes", async ({ server, tenant }) => {
    const created = await send(server, tenant.users.owner.headers.authorization!, "POST", "/tokens", {
      scope: "read",
    });
    const read = bearer(created.body.token);
    expect((await send(server, read, "GET", "/tokens")).status).toBe(200);
    const create = await send(server, read, "POST", "/tokens", {});
    expect(create.status).toBe(403);
    expect(create.body.message).toMatch(/read scope/);
    expect((await send(server, read, "DELETE", `/tokens/${created.body.id}`)).status).toBe(403);
    const mint = await send(server, read, "POST", `/projects/${tenant.project.id}/run-tokens`, {});
    expect(mint.status).toBe(403);
    expect(mint.body.message).toMatch(/read scope/);
  });

  it("rejects bad input with 400 naming the field", async ({ server, tenant }) => {
    const me = tenant.users.editor.headers.authorization!;
    for (const [body, field] of [
      [{ expires_in: 0 }, "expires_in"],
      [{ expires_in: 1.5 }, "expires_in"],
      [{ scope: "admin" }, "scope"],
      [{ label: "x".repeat(201) }, "label"],
    ] as const) {
      const r = await send(server, me, "POST", "/tokens", body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.message).toContain(field);
    }
    const r = await send(server, me, "DELETE", "/tokens/not-a-uuid");
    expect(r.status).toBe(400);
    expect(r.body.message).toContain("id");
  });
});

describe("minting run tokens", () => {
  it("lets admins and owners mint a token for their project, bound to it", async ({
    server,
    tenant,
    mint,
  }) => {
    for (const role of ["owner", "admin"] as const) {
      const r = await mint(tenant.users[role].headers.authorization!, tenant.project.id, {
        run_id: `run-${role}`,
        ttl: 120,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ run_id: `run-${role}`, project_id: tenant.project.id });
      const claims = decodePart(r.body.token, 1);
      expect(claims).toMatchObject({
        sub: `run:run-${role}`,
        project_id: tenant.project.id,
        iss: "collections-service",
        aud: "collections",
      });
      expect(claims.exp - claims.iat).toBe(120);
      expect(claims.nbf).toBe(claims.iat);
      expect(Date.parse(r.body.expires_at)).toBe(claims.exp * 1000);
      // a run token is authenticated, but is no user: it has no user tokens to list
      const asRun = await send(server, bearer(r.body.token), "GET", "/tokens");
      expect(asRun.status).toBe(403);
      expect(asRun.body.message).toMatch(/user access token/);
    }
  });

  it("uses RUN_TOKEN_TTL_SECONDS by default, a new UUID as run id, and refuses more than RUN_TOKEN_MAX_TTL_SECONDS", async ({
    tenant,
    mint,
  }) => {
    const r = await mint(tenant.users.admin.headers.authorization!, tenant.project.id);
    const claims = decodePart(r.body.token, 1);
    expect(claims.exp - claims.iat).toBe(900);
    expect(r.body.run_id).toMatch(/^[0-9a-f-]{36}$/);
    const long = await mint(tenant.users.admin.headers.authorization!, tenant.project.id, { ttl: 7201 });
    expect(long.status).toBe(400);
    expect(long.body.message).toMatch(/RUN_TOKEN_MAX_TTL_SECONDS/);
  });

  it("403 for editors, viewers and run tokens; 404 for outsiders and unknown projects", async ({
    server,
    tenant,
    mint,
  }) => {
    for (const role of ["editor", "viewer"] as const) {
      const r = await mint(tenant.users[role].headers.authorization!, tenant.project.id);
      expect(r.status).toBe(403);
      expect(r.body.message).toMatch(/admins and owners/);
    }
    const run = await server.services.auth.createRunToken({ projectId: tenant.project.id });
    expect((await mint(bearer(run.token), tenant.project.id)).status).toBe(403);
    const outsider = await mint(tenant.outsider.headers.authorization!, tenant.project.id);
    const unknown = await mint(tenant.users.owner.headers.authorization!, randomUUID());
    expect(outsider.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(outsider.body.code).toBe(unknown.body.code);
    expect((await mint(tenant.users.owner.headers.authorization!, "not-a-uuid")).status).toBe(400);
  });
});

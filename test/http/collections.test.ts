import { describe, expect } from "vitest";
import { it } from "../support/fixtures.js";
import { createTenant } from "../support/tenant.js";
import { call, seed } from "../support/items.js";

describe("GET /collections", () => {
  it("lists the collections the caller can see, with item counts", async ({ server, tenant }) => {
    const a = await tenant.collection();
    const b = await tenant.collection();
    await seed(server, a, tenant.project.id, [
      { key: "x", value: 1 },
      { key: "y", value: 2 },
    ]);
    const other = await createTenant(server.services);
    try {
      await other.collection();
      const r = await call(server, tenant.users.viewer, "GET", `/collections`);
      expect(r.status).toBe(200);
      const mine = r.body.results.filter((c: { project_id: string }) => c.project_id === tenant.project.id);
      expect(r.body.results).toHaveLength(mine.length);
      expect(mine.map((c: { name: string; items: number }) => [c.name, c.items])).toEqual([
        [a, 2],
        [b, 0],
      ]);
      expect(mine[0].created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      const narrowed = await call(
        server,
        tenant.users.viewer,
        `GET`,
        `/collections?project_id=${other.project.id}`,
      );
      expect(narrowed.body).toEqual({ results: [], cursor: null });
      const run = await server.services.auth.createRunToken({ projectId: other.project.id });
      const byRun = await call(
        server,
        { ...tenant.users.viewer, headers: { authorization: `Bearer ${run.token}` } },
        "GET",
        `/collections`,
      );
      expect(byRun.body.results.map((c: { project_id: string }) => c.project_id)).toEqual([other.project.id]);
    } finally {
      await other.cleanup();
    }
    expect((await call(server, undefined, "GET", `/collections`)).status).toBe(401);
    expect((await call(server, tenant.users.viewer, "GET", `/collections?project_id=bad`)).status).toBe(400);
    expect((await call(server, tenant.outsider, "GET", `/collections`)).body).toEqual({
      results: [],
      cursor: null,
    });
  });
});

describe("collection management", () => {
  it("admins and owners create and delete; members without the role get 403, outsiders 404", async ({
    server,
    tenant,
  }) => {
    const base = `/projects/${tenant.project.id}/collections`;
    for (const role of ["editor", "viewer"] as const) {
      const r = await call(server, tenant.users[role], "POST", base, { name: "managed" });
      expect(r.status).toBe(403);
      expect(r.body.code).toBe("FORBIDDEN");
    }
    expect((await call(server, tenant.outsider, "POST", base, { name: "managed" })).status).toBe(404);
    expect((await call(server, undefined, "POST", base, { name: "managed" })).status).toBe(401);
    const created = await call(server, tenant.users.admin, "POST", base, { name: "managed" });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: "managed", project_id: tenant.project.id });
    expect((await call(server, tenant.users.owner, "POST", base, { name: "managed" })).status).toBe(409);
    const badName = await call(server, tenant.users.owner, "POST", base, { name: "Bad Name" });
    expect(badName.status).toBe(400);
    expect(badName.body.code).toBe("BAD_REQUEST");
    const run = await server.services.auth.createRunToken({ projectId: tenant.project.id });
    expect(
      (
        await call(
          server,
          { ...tenant.users.owner, headers: { authorization: `Bearer ${run.token}` } },
          "POST",
          base,
          { name: "by-run" },
        )
      ).status,
    ).toBe(403);

    await seed(server, "managed", tenant.project.id, [{ key: "k", value: 1 }]);
    expect((await call(server, tenant.users.editor, "DELETE", `${base}/managed`)).status).toBe(403);
    expect((await call(server, tenant.outsider, "DELETE", `${base}/managed`)).status).toBe(404);
    const deleted = await call(server, tenant.users.owner, "DELETE", `${base}/managed`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ deleted: true });
    expect((await call(server, tenant.users.owner, "DELETE", `${base}/managed`)).status).toBe(404);
    expect((await call(server, tenant.users.owner, "GET", `/collections/managed`)).status).toBe(404);
  });
});

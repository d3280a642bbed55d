import { createTRPCClient, httpLink } from "@trpc/client";
import { describe, expect } from "vitest";
import type { AppRouter } from "../../server/router.js";
import { bearer, decodePart, send } from "../support/auth.js";
import { test } from "../support/fixtures.js";

// SPEC §2: "`project_id` is a UUID in any letter case" (issue 11, defect 12), on the routes of
// collections and run tokens: the list, create, delete, run-token minting.

const it = test
  .extend("upper", { scope: "file" }, ({ tenant }) => tenant.project.id.toUpperCase())
  .extend(
    "as",
    { scope: "file" },
    ({ tenant }) =>
      (role: "owner" | "viewer") =>
        tenant.users[role].headers.authorization!,
  );

describe("project_id in upper (or mixed) case", () => {
  it("GET /collections?project_id= narrows to the same project, and answers it in lower case", async ({
    server,
    tenant,
    upper,
    as,
  }) => {
    const name = await tenant.collection();
    const mixed = tenant.project.id.replace(/[a-f]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c));
    for (const id of [upper, mixed]) {
      const r = await send(server, as("viewer"), "GET", `/collections?project_id=${id}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.results.map((c: { name: string }) => c.name)).toContain(name);
      expect(r.body.results.every((c: { project_id: string }) => c.project_id === tenant.project.id)).toBe(
        true,
      );
    }
  });

  it("collections.list (tRPC) does the same", async ({ server, tenant, upper, as }) => {
    const name = await tenant.collection();
    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${server.url}/trpc`, headers: () => ({ authorization: as("viewer") }) })],
    });
    const r = await client.collections.list.query({ project_id: upper });
    expect(r.results.map((c) => c.name)).toContain(name);
  });

  it("POST and DELETE /projects/{PROJECT_ID}/collections work for admins (not 404)", async ({
    server,
    tenant,
    upper,
    as,
  }) => {
    const created = await send(server, as("owner"), "POST", `/projects/${upper}/collections`, {
      name: "upper-case-project",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.project_id).toBe(tenant.project.id);
    expect(
      (
        await send(server, as("owner"), "POST", `/projects/${upper}/collections`, {
          name: "upper-case-project",
        })
      ).status,
    ).toBe(409);
    // still a 403 for a viewer, not a 404
    expect(
      (await send(server, as("viewer"), "POST", `/projects/${upper}/collections`, { name: "by-viewer" }))
        .status,
    ).toBe(403);
    const deleted = await send(
      server,
      as("owner"),
      "DELETE",
      `/projects/${upper}/collections/upper-case-project`,
    );
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(
      (await send(server, as("owner"), "DELETE", `/projects/${upper}/collections/upper-case-project`)).status,
    ).toBe(404);
  });

  it("POST /projects/{PROJECT_ID}/run-tokens mints a token for the project (its claim in lower case)", async ({
    server,
    tenant,
    upper,
    as,
  }) => {
    const r = await send(server, as("owner"), "POST", `/projects/${upper}/run-tokens`, { run_id: "upper" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.project_id).toBe(tenant.project.id);
    expect(decodePart(r.body.token, 1).project_id).toBe(tenant.project.id);
    const list = await send(server, bearer(r.body.token), "GET", `/collections?project_id=${upper}`);
    expect(list.status).toBe(200);
    expect(list.body.results.length).toBeGreaterThan(0);
  });
});

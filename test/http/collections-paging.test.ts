import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { describe, expect } from "vitest";
import type { AppRouter } from "../../server/router.js";
import { createCollection } from "../../server/services/directory.js";
import { send } from "../support/auth.js";
import { test } from "../support/fixtures.js";
import { createTenant } from "../support/tenant.js";

// GET /collections and collections.list in pages (issue 11, defect 13): `limit` (default
// COLLECTIONS_DEFAULT_LIMIT, at most COLLECTIONS_MAX_LIMIT, decimal digits only) and a keyset `cursor`,
// ordered by name then project id; `{results, cursor}` with cursor null on the last page.

const NAMES = ["alpha", "beta", "same", "zeta-1", "zeta.2"];

interface Page {
  results: { name: string; project_id: string; items: number; bytes: number }[];
  cursor: string | null;
}

/** The tenant's collections NAMES, a second project the tenant's viewer also sees, and the viewer's ways to list. */
const it = test.extend("listing", { scope: "file" }, async ({ server, tenant }, { onCleanup }) => {
  const second = await createTenant(server.services);
  onCleanup(() => second.cleanup());
  for (const name of NAMES) await tenant.collection(name);
  // the tenant's viewer is also a viewer of a second project holding a collection of the same name
  await server.services.db.prisma.membership.create({
    data: { userId: tenant.users.viewer.id, projectId: second.project.id, role: "viewer" },
  });
  await createCollection(server.services.db.prisma, second.project.id, "same");
  const viewer = tenant.users.viewer.headers.authorization!;

  const list = async (query = "", authorization = viewer) => {
    const r = await send(server, authorization, "GET", `/collections${query}`);
    expect(r.status, `${query}: ${JSON.stringify(r.body)}`).toBe(200);
    return r.body as Page;
  };
  const expected = () =>
    [
      ...NAMES.map((name) => ({ name, project_id: tenant.project.id })),
      { name: "same", project_id: second.project.id },
    ].sort((a, b) => (a.name === b.name ? (a.project_id < b.project_id ? -1 : 1) : a.name < b.name ? -1 : 1));
  async function all(limit: number): Promise<{ pages: Page[]; rows: Page["results"] }> {
    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
      pages.push(page);
      cursor = page.cursor;
    } while (cursor && pages.length < 20);
    return { pages, rows: pages.flatMap((p) => p.results) };
  }
  const client = () =>
    createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${server.url}/trpc`, headers: () => ({ authorization: viewer }) })],
    });
  return { second, viewer, list, expected, all, client };
});
it.override({ serverEnv: { COLLECTIONS_DEFAULT_LIMIT: "3", COLLECTIONS_MAX_LIMIT: "4" } });

describe("GET /collections in pages", () => {
  it("orders by name then project id and walks every page with the cursor; the last page's cursor is null", async ({
    listing: { all, expected },
  }) => {
    for (const limit of [1, 2, 4]) {
      const { pages, rows } = await all(limit);
      expect(rows.map((r) => ({ name: r.name, project_id: r.project_id }))).toEqual(expected());
      expect(pages.length).toBe(Math.ceil(6 / limit));
      expect(pages.at(-1)!.cursor).toBeNull();
      for (const p of pages.slice(0, -1)) expect(typeof p.cursor).toBe("string");
    }
  });

  it("answers a cursor of null when the page holds exactly the remaining collections", async ({
    listing: { list },
  }) => {
    const first = await list("?limit=2");
    const rest = await list(`?limit=4&cursor=${first.cursor}`);
    expect(rest.results).toHaveLength(4);
    expect(rest.cursor).toBeNull();
  });

  it("uses COLLECTIONS_DEFAULT_LIMIT without a limit, and refuses more than COLLECTIONS_MAX_LIMIT (400 naming limit)", async ({
    server,
    listing: { list, viewer },
  }) => {
    const page = await list();
    expect(page.results).toHaveLength(3);
    expect(page.cursor).not.toBeNull();
    expect((await list("?limit=4")).results).toHaveLength(4);
    const r = await send(server, viewer, "GET", "/collections?limit=5");
    expect(r.status).toBe(400);
    expect(r.body.message).toContain("limit");
    expect(r.body.message).toContain("4");
  });

  it("accepts decimal digits only for limit", async ({ server, listing: { list, viewer } }) => {
    for (const bad of ["0", "-1", "0x2", "1e0", "", "%202", "2.0", "+2", "two", "99999999999999999999"]) {
      const r = await send(server, viewer, "GET", `/collections?limit=${bad}`);
      expect(r.status, `limit=${bad}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.code).toBe("BAD_REQUEST");
      expect(r.body.message).toContain("limit");
    }
    expect((await list("?limit=02")).results).toHaveLength(2);
  });

  it("refuses a cursor it did not issue (400 naming cursor, never 500)", async ({
    server,
    tenant,
    listing: { viewer },
  }) => {
    const forged = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    for (const bad of [
      "garbage!",
      "AAAA",
      forged(["alpha"]),
      forged([1, 2]),
      forged(["Bad Name", tenant.project.id]),
      forged(["alpha", "not-a-uuid"]),
      "x".repeat(1000),
    ]) {
      const r = await send(server, viewer, "GET", `/collections?cursor=${encodeURIComponent(bad)}`);
      expect(r.status, `cursor=${bad}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.message).toContain("cursor");
    }
  });

  it("keeps its place while collections are created and deleted between pages", async ({
    server,
    tenant,
    listing: { list },
  }) => {
    const first = await list("?limit=2"); // alpha, beta
    await tenant.collection("aaa-early"); // sorts before the cursor: not seen on later pages
    const rest = await list(`?limit=4&cursor=${first.cursor}`);
    expect(rest.results.map((r) => r.name)).toEqual(["same", "same", "zeta-1", "zeta.2"]);
    await server.services.db.prisma.collection.deleteMany({
      where: { projectId: tenant.project.id, name: "aaa-early" },
    });
  });

  it("narrows by project_id and pages within it", async ({ listing: { list, second } }) => {
    const page = await list(`?project_id=${second.project.id}&limit=1`);
    expect(page.results.map((r) => r.name)).toEqual(["same"]);
    expect(page.cursor).toBeNull();
  });

  it("each entry carries items and bytes", async ({ listing: { list } }) => {
    const page = await list("?limit=1");
    expect(page.results[0]).toMatchObject({ name: "alpha", items: 0, bytes: 0 });
  });
});

describe("collections.list (tRPC)", () => {
  it("takes limit as a number and pages with the same cursor", async ({ listing: { list, client } }) => {
    const first = await client().collections.list.query({ limit: 2 });
    expect(first.results.map((r) => r.name)).toEqual(["alpha", "beta"]);
    const next = await client().collections.list.query({ limit: 2, cursor: first.cursor! });
    expect(next.results.map((r) => r.name)).toEqual(["same", "same"]);
    // the REST cursor and the tRPC cursor are the same thing
    const rest = await list(`?limit=2&cursor=${first.cursor}`);
    expect(rest).toEqual(next);
    expect((await client().collections.list.query()).results).toHaveLength(3);
  });

  it("still rejects what it should after REST calls (trpc-to-openapi does not loosen the schema)", async ({
    listing: { list, client },
  }) => {
    await list("?limit=2");
    await list("?limit=3");
    for (const bad of [0, 1.5, -1, 5, "0x2", "1e0", "", true, null] as unknown[]) {
      const e = await client()
        .collections.list.query({ limit: bad as number })
        .catch((err: unknown) => err);
      expect(e, `limit ${JSON.stringify(bad)}`).toBeInstanceOf(TRPCClientError);
      expect((e as TRPCClientError<AppRouter>).data?.code).toBe("BAD_REQUEST");
      expect((e as TRPCClientError<AppRouter>).message).toContain("limit");
    }
  });
});

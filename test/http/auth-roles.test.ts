import { randomUUID } from "node:crypto";
import { describe, expect } from "vitest";
import type { Role } from "../../contracts/common.js";
import { bearer, send } from "../support/auth.js";
import { test } from "../support/fixtures.js";
import { createTenant } from "../support/tenant.js";

// SPEC §2's table, cell by cell, over the REST paths of SPEC §3 and the collection management routes.

type Action =
  "read" | "list" | "upsert" | "deleteByPattern" | "deleteAll" | "createCollection" | "deleteCollection";
type Caller = Role | "run" | "read-scope";

const allowed: Record<Caller, Action[]> = {
  viewer: ["read", "list"],
  editor: ["read", "list", "upsert", "deleteByPattern"],
  admin: ["read", "list", "upsert", "deleteByPattern", "deleteAll", "createCollection", "deleteCollection"],
  owner: ["read", "list", "upsert", "deleteByPattern", "deleteAll", "createCollection", "deleteCollection"],
  run: ["read", "list", "upsert", "deleteByPattern", "deleteAll"],
  "read-scope": ["read", "list"],
};
const actions: Action[] = [
  "read",
  "list",
  "upsert",
  "deleteByPattern",
  "deleteAll",
  "createCollection",
  "deleteCollection",
];

const it = test
  /** A second project with its members. */
  .extend("other", { scope: "file" }, async ({ server }, { onCleanup }) => {
    const other = await createTenant(server.services);
    onCleanup(() => other.cleanup());
    return other;
  })
  /** The authorization header of each caller, in the tenant's project. */
  .extend("auth", { scope: "file" }, async ({ server, tenant }) => {
    const auth = {} as Record<Caller, string>;
    for (const role of ["owner", "admin", "editor", "viewer"] as const)
      auth[role] = tenant.users[role].headers.authorization!;
    auth.run = bearer((await server.services.auth.createRunToken({ projectId: tenant.project.id })).token);
    auth["read-scope"] = bearer(
      (await server.services.auth.createUserToken({ userId: tenant.users.owner.id, scope: "read" })).token,
    );
    return auth;
  })
  /** Performs the action on a fresh collection with one item; returns the status and whether the effect happened. */
  .extend(
    "perform",
    { scope: "file" },
    ({ server, tenant, auth }) =>
      async (caller: string, action: Action): Promise<{ status: number; body: any; happened: boolean }> => {
        const pid = tenant.project.id;
        const name = await tenant.collection(`t-${randomUUID().slice(0, 12)}`);
        const seed = await send(server, auth.owner, "POST", `/collections/${name}`, [
          { key: "k1", value: 1 },
        ]);
        expect(seed.status).toBe(201);
        const count = async () =>
          // Items that exist: a deleted item's row stays a while as a tombstone, without a value.
          await server.services.db.prisma.item.count({
            where: { collection: { projectId: pid, name }, value: { not: null } },
          });
        const exists = async (n: string) =>
          (await server.services.db.prisma.collection.count({ where: { projectId: pid, name: n } })) === 1;
        switch (action) {
          case "read": {
            const r = await send(server, caller, "GET", `/collections/${name}/k1`);
            return { ...r, happened: r.body?.results?.[0]?.key === "k1" };
          }
          case "list": {
            const r = await send(server, caller, "GET", "/collections");
            return {
              ...r,
              happened: Boolean(r.body?.results?.some((c: { name: string }) => c.name === name)),
            };
          }
          case "upsert": {
            const r = await send(server, caller, "POST", `/collections/${name}`, [
              { key: "k2", value: { a: 1 } },
            ]);
            return { ...r, happened: (await count()) === 2 };
          }
          case "deleteByPattern": {
            const r = await send(server, caller, "DELETE", `/collections/${name}/k*`);
            return { ...r, happened: (await count()) === 0 };
          }
          case "deleteAll": {
            const r = await send(server, caller, "DELETE", `/collections/${name}`);
            return { ...r, happened: (await count()) === 0 };
          }
          case "createCollection": {
            const fresh = `n-${randomUUID().slice(0, 12)}`;
            const r = await send(server, caller, "POST", `/projects/${pid}/collections`, { name: fresh });
            return { ...r, happened: await exists(fresh) };
          }
          case "deleteCollection": {
            const r = await send(server, caller, "DELETE", `/projects/${pid}/collections/${name}`);
            return { ...r, happened: !(await exists(name)) };
          }
        }
      },
  );

describe.each(Object.keys(allowed) as Caller[])("%s", (caller) => {
  it.for(actions)(`%s`, async (action, { auth, perform }) => {
    const r = await perform(auth[caller], action);
    const may = allowed[caller].includes(action);
    expect(r.status, JSON.stringify(r.body)).toBe(may ? (action === "upsert" ? 201 : 200) : 403);
    expect(r.happened).toBe(may);
    if (!may)
      expect(r.body.message).toMatch(
        caller === "read-scope" ? /read scope/ : /not allow|admins and owners|run token/i,
      );
  });
});

describe("visibility", () => {
  it("an outsider gets the same 404 for an existing collection as for a missing one, on every action", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection(`v-${randomUUID().slice(0, 12)}`);
    const missing = `v-${randomUUID().slice(0, 12)}`;
    const outsider = tenant.outsider.headers.authorization!;
    for (const [method, path, body] of [
      ["GET", (n: string) => `/collections/${n}`],
      ["GET", (n: string) => `/collections/${n}/k`],
      ["POST", (n: string) => `/collections/${n}`, [{ key: "k", value: 1 }]],
      ["DELETE", (n: string) => `/collections/${n}/k`],
      ["DELETE", (n: string) => `/collections/${n}`],
    ] as const) {
      const seen = await send(server, outsider, method, path(name), body);
      const absent = await send(
        server,
        tenant.users.owner.headers.authorization!,
        method,
        path(missing),
        body,
      );
      expect(seen.status, `${method} ${path(name)}`).toBe(404);
      expect(absent.status).toBe(404);
      expect(seen.body.message.replace(name, "NAME")).toBe(absent.body.message.replace(missing, "NAME"));
    }
    const list = await send(server, outsider, "GET", "/collections");
    expect(list.body.results).toEqual([]);
    const manage = await send(server, outsider, "POST", `/projects/${tenant.project.id}/collections`, {
      name: "nope",
    });
    expect(manage.status).toBe(404);
  });

  it("a run token of project B gets 404 on project A's collections", async ({ server, tenant, other }) => {
    const name = await tenant.collection(`r-${randomUUID().slice(0, 12)}`);
    const runB = bearer((await server.services.auth.createRunToken({ projectId: other.project.id })).token);
    for (const [method, path] of [
      ["GET", `/collections/${name}`],
      ["POST", `/collections/${name}`],
      ["DELETE", `/collections/${name}`],
    ] as const) {
      const r = await send(
        server,
        runB,
        method,
        path,
        method === "POST" ? [{ key: "k", value: 1 }] : undefined,
      );
      expect(r.status).toBe(404);
    }
    expect(
      (await send(server, runB, "GET", `/collections/${name}?project_id=${tenant.project.id}`)).status,
    ).toBe(404);
    const list = await send(server, runB, "GET", "/collections");
    expect(list.body.results.some((c: { name: string }) => c.name === name)).toBe(false);
  });

  it("a name in two of the caller's projects is 409 until project_id chooses one", async ({
    server,
    tenant,
    other,
  }) => {
    const name = `dup-${randomUUID().slice(0, 12)}`;
    await tenant.collection(name);
    await other.collection(name);
    const owner = tenant.users.owner;
    await server.services.db.prisma.membership.create({
      data: { userId: owner.id, projectId: other.project.id, role: "viewer" },
    });
    const ambiguous = await send(server, owner.headers.authorization!, "GET", `/collections/${name}`);
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.message).toMatch(/project_id/);
    const write = await send(server, owner.headers.authorization!, "POST", `/collections/${name}`, [
      { key: "k", value: 1 },
    ]);
    expect(write.status).toBe(409);
    const mine = await send(
      server,
      owner.headers.authorization!,
      "POST",
      `/collections/${name}?project_id=${tenant.project.id.toUpperCase()}`,
      [{ key: "k", value: 1 }],
    );
    expect(mine.status).toBe(201);
    // in the other project the owner is a viewer: the project_id resolves the name, the role then decides
    const theirs = await send(
      server,
      owner.headers.authorization!,
      "POST",
      `/collections/${name}?project_id=${other.project.id}`,
      [{ key: "k", value: 1 }],
    );
    expect(theirs.status).toBe(403);
    const read = await send(
      server,
      owner.headers.authorization!,
      "GET",
      `/collections/${name}?project_id=${other.project.id}`,
    );
    expect(read.status).toBe(200);
    expect(read.body.results).toEqual([]);
    // a run token resolves within its own project only: never ambiguous
    const run = bearer((await server.services.auth.createRunToken({ projectId: tenant.project.id })).token);
    expect((await send(server, run, "GET", `/collections/${name}`)).status).toBe(200);
  });
});

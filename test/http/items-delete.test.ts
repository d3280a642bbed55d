import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { call, keyPath, seed, setTimes } from "../support/items.js";

/** `keys(name)`: the keys of a collection, in insertion order, as its viewer lists them. */
const it = test.extend(
  "keys",
  { scope: "file" },
  ({ server, tenant }) =>
    async (name: string) =>
      (await call(server, tenant.users.viewer, "GET", `/collections/${name}`)).body.results.map(
        (r: { key: string }) => r.key,
      ),
);
it.override({ serverEnv: { DELETE_BATCH_SIZE: "3" } });

describe("DELETE /collections/{name}[/{key}]", () => {
  it("deletes one key, a pattern (in batches, keys streamed in insertion order), nothing", async ({
    server,
    tenant,
    keys,
  }) => {
    const name = await tenant.collection();
    const all = ["p1", "p%", "p_", "x", "p2", "p3", "p4", "p5", "q"];
    await seed(
      server,
      name,
      tenant.project.id,
      all.map((key) => ({ key, value: 1 })),
    );
    const one = await call(server, tenant.users.editor, "DELETE", `/collections/${name}/x`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ keys: ["x"], deleted: 1 });
    const literal = await call(
      server,
      tenant.users.editor,
      "DELETE",
      `/collections/${name}/${keyPath("p%")}`,
    );
    expect(literal.body).toEqual({ keys: ["p%"], deleted: 1 });
    const pattern = await call(server, tenant.users.editor, "DELETE", `/collections/${name}/p*`);
    expect(pattern.body).toEqual({ keys: ["p1", "p_", "p2", "p3", "p4", "p5"], deleted: 6 });
    const none = await call(server, tenant.users.editor, "DELETE", `/collections/${name}/zzz*`);
    expect(none.body).toEqual({ keys: [], deleted: 0 });
    expect(await keys(name)).toEqual(["q"]);
  });

  it("time filters select what is deleted", async ({ server, tenant, keys }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      ["old", "day", "new"].map((key) => ({ key, value: 1 })),
    );
    await setTimes(server, name, tenant.project.id, "old", "2024-10-07T10:00:00Z", "2024-10-07T10:00:00Z");
    await setTimes(
      server,
      name,
      tenant.project.id,
      "day",
      "2024-10-08T23:59:59.999999Z",
      "2024-10-08T23:59:59.999999Z",
    );
    await setTimes(server, name, tenant.project.id, "new", "2024-10-09T00:00:00Z", "2024-10-09T00:00:00Z");
    // A pattern made only of `*` is "every item" (SPEC §2): the admin's, even narrowed by time.
    const r = await call(
      server,
      tenant.users.admin,
      "DELETE",
      `/collections/${name}/*?created_before=2024-10-08`,
    );
    expect(r.body).toEqual({ keys: ["old", "day"], deleted: 2 });
    expect(await keys(name)).toEqual(["new"]);
    const bad = await call(
      server,
      tenant.users.editor,
      "DELETE",
      `/collections/${name}/*?updated_after=nope`,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('"updated_after"');
    const unknown = await call(server, tenant.users.editor, "DELETE", `/collections/${name}/*?limit=1`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.issues[0].path).toBe("limit");
  });

  it("without a key deletes everything: admin, owner and run tokens only", async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: i })),
    );
    for (const role of ["viewer", "editor"] as const) {
      const r = await call(server, tenant.users[role], "DELETE", `/collections/${name}`);
      expect(r.status).toBe(403);
    }
    expect((await call(server, tenant.users.viewer, "DELETE", `/collections/${name}/k1`)).status).toBe(403);
    expect((await call(server, tenant.outsider, "DELETE", `/collections/${name}`)).status).toBe(404);
    expect((await call(server, undefined, "DELETE", `/collections/${name}`)).status).toBe(401);
    const r = await call(server, tenant.users.admin, "DELETE", `/collections/${name}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ keys: Array.from({ length: 10 }, (_, i) => `k${i}`), deleted: 10 });
    await seed(server, name, tenant.project.id, [{ key: "again", value: 1 }]);
    const run = await server.services.auth.createRunToken({ projectId: tenant.project.id });
    const byRun = await call(
      server,
      { ...tenant.users.owner, headers: { authorization: `Bearer ${run.token}` } },
      "DELETE",
      `/collections/${name}`,
    );
    expect(byRun.body).toEqual({ keys: ["again"], deleted: 1 });
    expect((await call(server, tenant.users.owner, "DELETE", `/collections/missing-coll`)).status).toBe(404);
  });
});

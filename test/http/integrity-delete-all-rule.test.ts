import { TRPCClientError } from "@trpc/client";
import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { call, seed } from "../support/items.js";
import { storedKeys, trpcAs } from "../support/integrity.js";

// Issue 11, defect 3 (SPEC §2's table): deleting every item of a collection, with no key or with a pattern
// made only of `*`, is for admins and owners. An editor deletes by key or by any other pattern.

const seeded = ["a1", "a2", "b1", "*", "**"];

/** `full()`: a fresh collection holding the `seeded` keys. */
const it = test.extend("full", { scope: "file" }, ({ server, tenant }) => async (): Promise<string> => {
  const name = await tenant.collection();
  await seed(
    server,
    name,
    tenant.project.id,
    seeded.map((key) => ({ key, value: key })),
  );
  return name;
});

async function trpcCode(work: Promise<unknown>): Promise<string | undefined> {
  try {
    await work;
    return undefined;
  } catch (e) {
    if (!(e instanceof TRPCClientError)) throw e;
    return (e.data as { code?: string } | undefined)?.code;
  }
}

describe("3. an editor cannot delete everything with a pattern made only of '*'", () => {
  it.for(["*", "**", "***"])(
    "REST DELETE /collections/c/%s as an editor: 403, nothing deleted",
    async (pattern, { server, tenant, full }) => {
      const name = await full();
      const r = await call(server, tenant.users.editor, "DELETE", `/collections/${name}/${pattern}`);
      expect(r.status, r.text).toBe(403);
      expect(r.body).toMatchObject({ code: "FORBIDDEN" });
      expect(await storedKeys(server, tenant.project.id, name)).toEqual(seeded);
    },
  );

  it("REST DELETE /collections/c/* with a time filter as an editor: 403, nothing deleted", async ({
    server,
    tenant,
    full,
  }) => {
    const name = await full();
    const r = await call(
      server,
      tenant.users.editor,
      "DELETE",
      `/collections/${name}/*?created_after=2000-01-01`,
    );
    expect(r.status, r.text).toBe(403);
    expect(r.body).toMatchObject({ code: "FORBIDDEN" });
    expect(await storedKeys(server, tenant.project.id, name)).toEqual(seeded);
  });

  it.for(["*", "**"])(
    "Lightning DELETE ?key=%s as an editor: 403 {error: Forbidden}, nothing deleted",
    async (pattern, { server, tenant, full }) => {
      const name = await full();
      const r = await call(
        server,
        tenant.users.editor,
        "DELETE",
        `/lightning/collections/${name}?key=${encodeURIComponent(pattern)}`,
      );
      expect(r.status, r.text).toBe(403);
      expect(r.body).toEqual({ error: "Forbidden" });
      expect(await storedKeys(server, tenant.project.id, name)).toEqual(seeded);
    },
  );

  it.for(["*", "**"])(
    "tRPC items.delete {key: %j} as an editor: FORBIDDEN, nothing deleted",
    async (pattern, { server, tenant, full }) => {
      const name = await full();
      expect(
        await trpcCode(trpcAs(server, tenant.users.editor).items.delete.mutate({ name, key: pattern })),
      ).toBe("FORBIDDEN");
      expect(await storedKeys(server, tenant.project.id, name)).toEqual(seeded);
    },
  );

  it("an editor still deletes by another pattern (a*) on every surface: 200", async ({
    server,
    tenant,
    full,
  }) => {
    const name = await full();
    const rest = await call(server, tenant.users.editor, "DELETE", `/collections/${name}/a1*`);
    expect(rest.status, rest.text).toBe(200);
    expect(rest.body).toEqual({ keys: ["a1"], deleted: 1 });
    const lightning = await call(
      server,
      tenant.users.editor,
      "DELETE",
      `/lightning/collections/${name}?key=a2*`,
    );
    expect(lightning.status, lightning.text).toBe(200);
    expect(lightning.body).toEqual({ key: "a2*", deleted: 1, error: null });
    const trpc = await trpcAs(server, tenant.users.editor).items.delete.mutate({ name, key: "b*" });
    expect(trpc.deleted).toBe(1);
    expect(await storedKeys(server, tenant.project.id, name)).toEqual(["*", "**"]);
  });

  it("an editor still deletes the single item whose key is '*' by exact key on Lightning (DELETE /{name}/*)", async ({
    server,
    tenant,
    full,
  }) => {
    const name = await full();
    const r = await call(server, tenant.users.editor, "DELETE", `/lightning/collections/${name}/*`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ key: "*", deleted: 1, error: null });
    expect(await storedKeys(server, tenant.project.id, name)).toEqual(["a1", "a2", "b1", "**"]);
  });

  it("an admin deletes everything with '*' on every surface: 200", async ({ server, tenant, full }) => {
    const rest = await full();
    const r = await call(server, tenant.users.admin, "DELETE", `/collections/${rest}/*`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ keys: seeded, deleted: 5 });
    expect(await storedKeys(server, tenant.project.id, rest)).toEqual([]);

    const lightning = await full();
    const l = await call(server, tenant.users.admin, "DELETE", `/lightning/collections/${lightning}?key=*`);
    expect(l.status, l.text).toBe(200);
    expect(l.body).toEqual({ key: "*", deleted: 5, error: null });
    expect(await storedKeys(server, tenant.project.id, lightning)).toEqual([]);

    const trpc = await full();
    expect(
      (await trpcAs(server, tenant.users.admin).items.delete.mutate({ name: trpc, key: "*" })).deleted,
    ).toBe(5);
    expect(await storedKeys(server, tenant.project.id, trpc)).toEqual([]);
  });
});

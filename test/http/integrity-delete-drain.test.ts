import type pg from "pg";
import { describe, expect } from "vitest";
import { usingPostgresServer } from "../support/env.js";
import { test } from "../support/fixtures.js";
import { call, seed } from "../support/items.js";
import { collectionIdOf, otherConnection, sleep, storedKeys, trpcAs } from "../support/integrity.js";

// Issue 11, defect 2 (SPEC §6): a delete by pattern removes every item that matches when it starts, even
// while another transaction deletes some of the same items: a short batch is not the end. With
// DELETE_BATCH_SIZE=5 and keys x01..x12, a competing transaction holds x02 (deleted, uncommitted), so the
// first batch blocks on it and, once the other side commits, comes back with 4 rows instead of 5.

const xKeys = Array.from({ length: 12 }, (_, i) => `x${String(i + 1).padStart(2, "0")}`);

/** `twelve()`: a fresh collection with x01..x12 (and one key the pattern does not match). */
const it = test.extend(
  "twelve",
  { scope: "file" },
  ({ server, tenant }) =>
    async (): Promise<{ name: string; id: string }> => {
      const name = await tenant.collection();
      await seed(server, name, tenant.project.id, [
        ...xKeys.map((key) => ({ key, value: key })),
        { key: "y01", value: "stays" },
      ]);
      return { name, id: await collectionIdOf(server, tenant.project.id, name) };
    },
);
it.override({ serverEnv: { DELETE_BATCH_SIZE: "5" } });

/**
 * Runs `work` (a pattern delete) while another connection holds x02 deleted and uncommitted; commits once
 * `work` waits on that row lock (or after 1.5 s, or once `work` is done), then returns what `work` answered.
 */
async function whileX02IsDeletedElsewhere<T>(collectionId: string, work: () => Promise<T>): Promise<T> {
  const other: pg.Client = await otherConnection();
  try {
    await other.query("BEGIN");
    const held = await other.query("DELETE FROM items WHERE collection_id = $1::uuid AND key = 'x02'", [
      collectionId,
    ]);
    expect(held.rowCount).toBe(1);
    const pid = (await other.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    let done = false;
    const answer = work().finally(() => (done = true));
    const watcher = await otherConnection();
    try {
      const started = Date.now();
      for (;;) {
        const { rows } = await watcher.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
          [pid],
        );
        if (rows[0]!.n > 0 || done || Date.now() - started > 1500) break;
        await sleep(20);
      }
    } finally {
      await watcher.end();
    }
    await sleep(300);
    await other.query("COMMIT");
    return await answer;
  } finally {
    await other.end();
  }
}

describe("2. a pattern delete drains every batch (DELETE_BATCH_SIZE=5, 12 matching items: 3 batches)", () => {
  it("REST DELETE /collections/c/x* deletes all 12 and lists them in order", async ({
    server,
    tenant,
    twelve,
  }) => {
    const c = await twelve();
    const r = await call(server, tenant.users.editor, "DELETE", `/collections/${c.name}/x*`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ keys: xKeys, deleted: 12 });
    expect(await storedKeys(server, tenant.project.id, c.name)).toEqual(["y01"]);
  });

  it("Lightning DELETE ?key=x* deletes all 12", async ({ server, tenant, twelve }) => {
    const c = await twelve();
    const r = await call(server, tenant.users.editor, "DELETE", `/lightning/collections/${c.name}?key=x*`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ key: "x*", deleted: 12, error: null });
    expect(await storedKeys(server, tenant.project.id, c.name)).toEqual(["y01"]);
  });

  it("tRPC items.delete {key: 'x*'} deletes all 12", async ({ server, tenant, twelve }) => {
    const c = await twelve();
    const out = await trpcAs(server, tenant.users.editor).items.delete.mutate({ name: c.name, key: "x*" });
    expect(out.deleted).toBe(12);
    expect(await storedKeys(server, tenant.project.id, c.name)).toEqual(["y01"]);
  });
});

describe("2. a pattern delete is not stopped by a short batch when another transaction deletes one of its items (PostgreSQL server)", () => {
  it.skipIf(!usingPostgresServer())(
    "REST DELETE /collections/c/x* while x02 is deleted elsewhere: deleted 11, no x* item remains",
    async ({ server, tenant, twelve }) => {
      const c = await twelve();
      const r = await whileX02IsDeletedElsewhere(c.id, () =>
        call(server, tenant.users.editor, "DELETE", `/collections/${c.name}/x*`),
      );
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ keys: xKeys.filter((k) => k !== "x02"), deleted: 11 });
      expect(await storedKeys(server, tenant.project.id, c.name)).toEqual(["y01"]);
    },
  );

  it.skipIf(!usingPostgresServer())(
    "Lightning DELETE ?key=x* while x02 is deleted elsewhere: deleted 11, no x* item remains",
    async ({ server, tenant, twelve }) => {
      const c = await twelve();
      const r = await whileX02IsDeletedElsewhere(c.id, () =>
        call(server, tenant.users.editor, "DELETE", `/lightning/collections/${c.name}?key=x*`),
      );
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ key: "x*", deleted: 11, error: null });
      expect(await storedKeys(server, tenant.project.id, c.name)).toEqual(["y01"]);
    },
  );

  it.skipIf(!usingPostgresServer())(
    "tRPC items.delete {key: 'x*'} while x02 is deleted elsewhere: deleted 11, no x* item remains",
    async ({ server, tenant, twelve }) => {
      const c = await twelve();
      const out = await whileX02IsDeletedElsewhere(c.id, () =>
        trpcAs(server, tenant.users.editor).items.delete.mutate({ name: c.name, key: "x*" }),
      );
      expect(out.deleted).toBe(11);
      expect(await storedKeys(server, tenant.project.id, c.name)).toEqual(["y01"]);
    },
  );
});

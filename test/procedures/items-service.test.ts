import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestServices, type TestServices } from "../support/services.js";
import { createTenant, type Tenant } from "../support/tenant.js";
import {
  deleteItemsBatches,
  getItem,
  streamItems,
  upsertItems,
  type ItemRow,
} from "../../server/services/items.js";

// The item store as the Lightning dialect will use it: batches, keyset positions, parameterizable bounds.

let services: TestServices;
let tenant: Tenant;
let collectionId: string;
beforeAll(async () => {
  services = await createTestServices();
  tenant = await createTenant(services);
  const name = await tenant.collection();
  collectionId = (
    await services.db.prisma.collection.findFirstOrThrow({ where: { name }, select: { id: true } })
  ).id;
});
afterAll(async () => {
  await tenant?.cleanup();
  await services?.close();
});

async function drain<T, R>(gen: AsyncGenerator<T, R>): Promise<{ batches: T[]; end: R }> {
  const batches: T[] = [];
  let next = await gen.next();
  while (!next.done) {
    batches.push(next.value);
    next = await gen.next();
  }
  return { batches, end: next.value };
}

describe("items service", () => {
  it("upsertItems is atomic: a failing chunk writes nothing", async () => {
    const items = Array.from({ length: 1500 }, (_, i) => ({ key: `atomic-${i}`, valueJson: "1" }));
    items[1200] = { key: "bad\u0000key", valueJson: "1" }; // PostgreSQL text cannot hold U+0000
    await expect(upsertItems(services.db.sql, collectionId, items)).rejects.toThrow();
    expect(await getItem(services.db.sql, collectionId, "atomic-0")).toBeNull();
  });

  it("streamItems yields bounded batches, honours afterSeq/offset/limit and reports hasMore", async () => {
    const out = await upsertItems(
      services.db.sql,
      collectionId,
      Array.from({ length: 23 }, (_, i) => ({ key: `s${i}`, valueJson: `{"i":${i}}` })),
    );
    expect(out).toMatchObject({ written: 23, created: 23 });
    expect(out.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const filter = { pattern: "s*" };
    const all = await drain(streamItems(services.db.sql, collectionId, filter, { batchSize: 5 }));
    expect(all.batches.map((b) => b.length)).toEqual([5, 5, 5, 5, 3]);
    expect(all.end).toMatchObject({ count: 23, hasMore: false, aborted: false });
    const rows = all.batches.flat() as ItemRow[];
    expect(rows[0]).toMatchObject({
      key: "s0",
      value: '{"i":0}',
      created: out.timestamp,
      updated: out.timestamp,
    });

    const page = await drain(
      streamItems(services.db.sql, collectionId, filter, { batchSize: 5, offset: 2, limit: 10 }),
    );
    expect(page.batches.flat().map((r) => r.key)).toEqual(Array.from({ length: 10 }, (_, i) => `s${i + 2}`));
    expect(page.end).toMatchObject({ count: 10, hasMore: true });
    expect(page.end.next!.position.seq).toBe(rows[11]!.seq);
    const rest = await drain(
      streamItems(services.db.sql, collectionId, filter, { batchSize: 5, after: page.end.next! }),
    );
    expect(rest.batches.flat().map((r) => r.key)).toEqual(Array.from({ length: 11 }, (_, i) => `s${i + 12}`));
    const exact = await drain(
      streamItems(services.db.sql, collectionId, filter, { batchSize: 5, limit: 23 }),
    );
    expect(exact.end.hasMore).toBe(false);

    const controller = new AbortController();
    const gen = streamItems(services.db.sql, collectionId, filter, {
      batchSize: 5,
      signal: controller.signal,
    });
    await gen.next();
    controller.abort();
    const stopped = await gen.next();
    expect(stopped).toMatchObject({ done: true, value: { aborted: true, count: 5 } });
  });

  it("time bounds are parameterizable: inclusive (SPEC §3) or exclusive (Lightning's `<`)", async () => {
    await upsertItems(services.db.sql, collectionId, [
      { key: "t1", valueJson: "1" },
      { key: "t2", valueJson: "2" },
    ]);
    await services.db.prisma
      .$executeRaw`UPDATE items SET created = '2024-10-08T12:00:00Z' WHERE collection_id = ${collectionId}::uuid AND key = 't1'`;
    await services.db.prisma
      .$executeRaw`UPDATE items SET created = '2024-10-08T12:00:00.000001Z' WHERE collection_id = ${collectionId}::uuid AND key = 't2'`;
    const keys = async (
      after?: { at: string; inclusive: boolean },
      before?: { at: string; inclusive: boolean },
    ) =>
      (
        await drain(
          streamItems(
            services.db.sql,
            collectionId,
            { pattern: "t*", created: { after, before } },
            { batchSize: 10 },
          ),
        )
      ).batches
        .flat()
        .map((r) => r.key);
    const at = "2024-10-08T12:00:00.000001Z";
    expect(await keys({ at, inclusive: true })).toEqual(["t2"]);
    expect(await keys({ at, inclusive: false })).toEqual([]);
    expect(await keys(undefined, { at, inclusive: true })).toEqual(["t1", "t2"]);
    expect(await keys(undefined, { at, inclusive: false })).toEqual(["t1"]);
  });

  it("deleteItemsBatches deletes in batches, oldest first, and leaves later writes alone", async () => {
    await upsertItems(
      services.db.sql,
      collectionId,
      Array.from({ length: 7 }, (_, i) => ({ key: `d${i}`, valueJson: "0" })),
    );
    const gen = deleteItemsBatches(services.db.sql, collectionId, { pattern: "d*" }, { batchSize: 3 });
    const first = await gen.next();
    expect(first.value).toEqual(["d0", "d1", "d2"]);
    await upsertItems(services.db.sql, collectionId, [{ key: "d-late", valueJson: "0" }]);
    const rest = await drain(gen);
    expect(rest.batches).toEqual([["d3", "d4", "d5"], ["d6"]]);
    expect(rest.end).toEqual({ count: 7, aborted: false });
    expect(await getItem(services.db.sql, collectionId, "d-late")).not.toBeNull();
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Keyset } from "../../server/services/cursor.js";
import {
  deleteItem,
  streamItems,
  upsertItems,
  upsertItemsIn,
  type ItemRow,
  type StreamEnd,
} from "../../server/services/items.js";
import { usingPostgresServer } from "../support/env.js";
import { createTestServices, type TestServices } from "../support/services.js";
import { createTenant, type Tenant } from "../support/tenant.js";

// Issue 13: writers of new keys take no lock in common, so a transaction that began first (smaller
// ins_xid, earlier in insertion order) may commit after a reader has passed its position. The reader's
// cursor carries the transactions running below its position (pending): the next page reads their rows,
// once committed, before newer ones. Only a PostgreSQL server runs transactions side by side.

let services: TestServices;
let tenant: Tenant;
let collectionId: string;
beforeAll(async () => {
  services = await createTestServices();
  tenant = await createTenant(services);
});
afterAll(async () => {
  await tenant?.cleanup();
  await services?.close();
});

async function freshCollection(): Promise<string> {
  const name = await tenant.collection();
  return (await services.db.prisma.collection.findFirstOrThrow({ where: { name }, select: { id: true } })).id;
}

async function page(
  after: Keyset | undefined,
  limit: number | undefined,
  batchSize = 100,
): Promise<{ keys: string[]; end: StreamEnd }> {
  const gen = streamItems(services.db.sql, collectionId, {}, { after, limit, batchSize });
  const keys: string[] = [];
  let next = await gen.next();
  while (!next.done) {
    keys.push(...(next.value as ItemRow[]).map((r) => r.key));
    next = await gen.next();
  }
  return { keys, end: next.value };
}

const items = (keys: string[]) => keys.map((key) => ({ key, valueJson: JSON.stringify(key) }));

/** A transaction that writes `keys` (taking its id first), then stays open until `commit()`. */
async function lateWriter(keys: string[]) {
  let commit!: () => void;
  const gate = new Promise<void>((r) => (commit = r));
  let ready!: () => void;
  const written = new Promise<void>((r) => (ready = r));
  const done = services.db.sql.transaction(async (tx) => {
    await upsertItemsIn(tx, collectionId, items(keys));
    ready();
    await gate;
  });
  await written;
  return {
    commit: async () => {
      commit();
      await done;
    },
  };
}

describe.runIf(usingPostgresServer())("a transaction that commits after a reader passed its position", () => {
  it("is read by the next page, before newer items, and nothing repeats", async () => {
    collectionId = await freshCollection();
    await upsertItems(services.db.sql, collectionId, items(["a1", "a2", "a3"]));
    const late = await lateWriter(["late1", "late2"]); // began first: its position is below b*
    await upsertItems(services.db.sql, collectionId, items(["b1", "b2", "b3", "b4"]));

    const first = await page(undefined, 5);
    expect(first.keys).toEqual(["a1", "a2", "a3", "b1", "b2"]);
    expect(first.end.next!.pending.map((p) => p.xid)).not.toEqual([]);
    await late.commit();

    const second = await page(first.end.next!, 3);
    expect(second.keys).toEqual(["late1", "late2", "b3"]);
    const third = await page(second.end.next!, 3);
    expect(third.keys).toEqual(["b4"]);
    expect(third.end).toMatchObject({ hasMore: false, next: null });
    // A fresh read has them in insertion order: the late transaction began before b1.
    expect((await page(undefined, undefined)).keys).toEqual([
      "a1",
      "a2",
      "a3",
      "late1",
      "late2",
      "b1",
      "b2",
      "b3",
      "b4",
    ]);
  });

  it("stays owed while it runs, across pages, and a page cut inside its rows resumes after the last one", async () => {
    collectionId = await freshCollection();
    await upsertItems(services.db.sql, collectionId, items(["a1", "a2"]));
    const late = await lateWriter(["l1", "l2", "l3"]);
    await upsertItems(services.db.sql, collectionId, items(["b1", "b2", "b3", "b4", "b5"]));

    const p1 = await page(undefined, 3);
    expect(p1.keys).toEqual(["a1", "a2", "b1"]);
    const p2 = await page(p1.end.next!, 2); // still running: not there, still owed
    expect(p2.keys).toEqual(["b2", "b3"]);
    await late.commit();
    const p3 = await page(p2.end.next!, 2); // cut inside the late rows
    expect(p3.keys).toEqual(["l1", "l2"]);
    const p4 = await page(p3.end.next!, 10);
    expect(p4.keys).toEqual(["l3", "b4", "b5"]);
    expect(p4.end.next).toBeNull();
  });

  it("a key deleted and written again by a transaction running when a stream began comes once in it", async () => {
    collectionId = await freshCollection();
    const keys = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    await upsertItems(services.db.sql, collectionId, items(keys));
    // T takes its id, then a newer item is written: T's positions are below the stream's bound.
    let proceed!: () => void;
    const proceeding = new Promise<void>((r) => (proceed = r));
    let begun!: () => void;
    const hasBegun = new Promise<void>((r) => (begun = r));
    const t = services.db.sql.transaction(async (tx) => {
      await upsertItemsIn(tx, collectionId, items(["t-begin"]));
      begun();
      await proceeding;
      // k00, already streamed, gets a new position (T's) ahead of the stream's, below its bound.
      expect((await deleteItem(tx, collectionId, "k00")).deleted).toBe(true);
      await upsertItemsIn(tx, collectionId, items(["k00"]));
    });
    await hasBegun;
    await upsertItems(services.db.sql, collectionId, items(["z1"]));

    const gen = streamItems(services.db.sql, collectionId, {}, { batchSize: 3 });
    const seen: string[] = [];
    let next = await gen.next();
    seen.push(...(next.value as ItemRow[]).map((r) => r.key));
    proceed();
    await t;
    next = await gen.next();
    while (!next.done) {
      seen.push(...(next.value as ItemRow[]).map((r) => r.key));
      next = await gen.next();
    }
    expect(seen).toEqual([...keys, "z1"]);
  });
});

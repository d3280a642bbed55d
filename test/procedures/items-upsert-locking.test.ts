import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getItem, upsertItems, upsertItemsIn, type NewItem } from "../../server/services/items.js";
import { usingPostgresServer } from "../support/env.js";
import { createTestServices, type TestServices } from "../support/services.js";
import { createTenant, type Tenant } from "../support/tenant.js";

// Writers of one collection (server/services/items.ts upsertChunk): writers of new keys take no lock in
// common (issue 13), only the rows they write, and overlapping writers never deadlock.

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

const items = (keys: string[], value: unknown): NewItem[] =>
  keys.map((key) => ({ key, valueJson: JSON.stringify(value) }));
/** Writer w's order: rotated by 37·w, reversed for odd w. */
const orderOf = (keys: string[], w: number) => {
  const rotated = [...keys.slice((37 * w) % keys.length), ...keys.slice(0, (37 * w) % keys.length)];
  return w % 2 ? rotated.reverse() : rotated;
};

describe("upsert locking", () => {
  it("overlapping writers in different orders all succeed; each key ends with one writer's value", async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `o${i}`);
    await upsertItems(services.db.sql, collectionId, items(keys.slice(0, 150), 0));
    const writers = Array.from({ length: 8 }, (_, w) =>
      upsertItems(services.db.sql, collectionId, items(orderOf(keys, w), w)),
    );
    const outcomes = await Promise.all(writers);
    expect(outcomes.map((o) => o.written)).toEqual(Array(8).fill(300));
    expect(outcomes.reduce((n, o) => n + o.created, 0)).toBe(150); // each new key was created exactly once
    const values = new Set<string>();
    for (const key of keys) values.add((await getItem(services.db.sql, collectionId, key))!.value);
    expect([...values].every((v) => /^[0-7]$/.test(v))).toBe(true);
  });

  it.runIf(usingPostgresServer())(
    "a writer of new keys does not wait for another transaction inserting new keys into the same collection",
    async () => {
      await upsertItems(services.db.sql, collectionId, items(["u1", "u2"], "first"));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let holding!: () => void;
      const held = new Promise<void>((r) => (holding = r));
      // An open transaction that has written new keys of the collection and waits before committing.
      const holder = services.db.sql.transaction(async (tx) => {
        await upsertItemsIn(tx, collectionId, items(["h1", "h2"], "held"));
        holding();
        await gate;
      });
      await held;
      try {
        const insert = await Promise.race([
          upsertItems(services.db.sql, collectionId, items(["u1", "u3"], "third")),
          new Promise((r) => setTimeout(() => r("waited"), 3000)),
        ]);
        expect(insert).toMatchObject({ written: 2, created: 1 }); // did not wait for the holder
      } finally {
        release();
        await holder;
      }
      expect((await getItem(services.db.sql, collectionId, "u3"))!.value).toBe('"third"');
      expect((await getItem(services.db.sql, collectionId, "h2"))!.value).toBe('"held"');
    },
  );
});

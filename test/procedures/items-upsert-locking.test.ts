import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getItem, upsertItems, type NewItem } from "../../server/services/items.js";
import { testEnv, usingPostgresServer } from "../support/env.js";
import { createTestServices, type TestServices } from "../support/services.js";
import { createTenant, type Tenant } from "../support/tenant.js";

// Writers of one collection (server/services/items.ts upsertChunk): those that insert new keys take the
// collection lock, those that only update existing keys do not, and overlapping writers never deadlock.

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
    "an update of existing keys does not wait for the collection lock; an insert does",
    async () => {
      await upsertItems(services.db.sql, collectionId, items(["u1", "u2"], "first"));
      const holder = new pg.Client({ connectionString: testEnv().DATABASE_URL });
      await holder.connect();
      try {
        await holder.query("BEGIN");
        await holder.query("SELECT pg_advisory_xact_lock(7301, hashtext($1))", [collectionId]);
        const update = await upsertItems(services.db.sql, collectionId, items(["u1", "u2"], "second"));
        expect(update).toMatchObject({ written: 2, created: 0 });
        let inserted = false;
        const insert = upsertItems(services.db.sql, collectionId, items(["u1", "u3"], "third")).then(
          () => (inserted = true),
        );
        await new Promise((r) => setTimeout(r, 300));
        expect(inserted).toBe(false); // waits for the lock: u3 is new
        await holder.query("COMMIT");
        await insert;
        expect(inserted).toBe(true);
      } finally {
        await holder.end();
      }
      expect((await getItem(services.db.sql, collectionId, "u3"))!.value).toBe('"third"');
    },
  );
});

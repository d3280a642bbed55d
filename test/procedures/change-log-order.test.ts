import pg from "pg";
import { Prisma } from "../../server/generated/prisma/client.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poolSql } from "../../server/sql.js";
import {
  deleteItem,
  deleteItemsBatches,
  getItem,
  upsertItems,
  upsertItemsIn,
  type NewItem,
} from "../../server/services/items.js";
import { deleteCollection } from "../../server/services/directory.js";
import { testEnv, usingPostgresServer } from "../support/env.js";
import { createTestServices, type TestServices } from "../support/services.js";
import { createTenant, type Tenant } from "../support/tenant.js";

// The change log (item_changes, SPEC §9.3) and versions (§9.1) as the item store writes them: every write
// and delete once, with a version that grows per key and never repeats, and for every key the log's
// (xid, version) order, which the feed reads in, is the order in which the changes committed.

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

interface Change {
  key: string;
  kind: string;
  value: string | null;
  version: string;
}
// Ordered by the columns (bigint), not by the text aliases of the same names.
const changesOf = (keyPrefix: string) =>
  services.db.sql.query<Change>(Prisma.sql`
    SELECT key, kind::text AS kind, value, version::text AS version FROM item_changes
    WHERE collection_id = ${collectionId}::uuid AND starts_with(key, ${keyPrefix})
    ORDER BY item_changes.xid, item_changes.version`);

describe("change log", () => {
  it("records every write and delete once, with versions that grow per key and never repeat", async () => {
    await upsertItems(services.db.sql, collectionId, items(["v/a", "v/b"], 1));
    await upsertItems(services.db.sql, collectionId, items(["v/a"], 2));
    expect((await deleteItem(services.db.sql, collectionId, "v/a")).deleted).toBe(true);
    await upsertItems(services.db.sql, collectionId, items(["v/a"], 3));
    for await (const _ of deleteItemsBatches(
      services.db.sql,
      collectionId,
      { pattern: "v/b" },
      { batchSize: 10 },
    ));
    const log = await changesOf("v/");
    expect(log.map((c) => [c.key, c.kind, c.value])).toEqual([
      ["v/a", "put", "1"],
      ["v/b", "put", "1"],
      ["v/a", "put", "2"],
      ["v/a", "delete", null],
      ["v/a", "put", "3"],
      ["v/b", "delete", null],
    ]);
    const versionsOfA = log.filter((c) => c.key === "v/a").map((c) => BigInt(c.version));
    expect(versionsOfA).toEqual([...versionsOfA].sort((x, y) => (x < y ? -1 : 1)));
    expect(new Set(versionsOfA).size).toBe(versionsOfA.length);
    expect((await getItem(services.db.sql, collectionId, "v/a"))!.version).toBe(String(versionsOfA.at(-1)));
  });

  it("with concurrent writers and deleters of the same keys: per key, log order is version order and ends in the item's state", async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `c/${i}`);
    const work = Array.from({ length: 8 }, async (_, w) => {
      for (let round = 0; round < 6; round++) {
        const mine = keys.filter((_, i) => (i + round + w) % 3 !== 0);
        await upsertItems(
          services.db.sql,
          collectionId,
          items(w % 2 ? mine.reverse() : mine, `${w}.${round}`),
        );
        if (round % 2 === w % 2) {
          for await (const _ of deleteItemsBatches(
            services.db.sql,
            collectionId,
            { pattern: `c/${w}*` },
            { batchSize: 3 },
          ));
        }
        await deleteItem(services.db.sql, collectionId, keys[(w * 7 + round) % keys.length]!);
      }
    });
    await Promise.all(work);
    const log = await changesOf("c/");
    const perKey = new Map<string, Change[]>();
    for (const c of log) perKey.set(c.key, [...(perKey.get(c.key) ?? []), c]);
    for (const key of keys) {
      const changes = perKey.get(key) ?? [];
      const versions = changes.map((c) => BigInt(c.version));
      expect(versions, key).toEqual([...versions].sort((x, y) => (x < y ? -1 : 1)));
      const item = await getItem(services.db.sql, collectionId, key);
      const last = changes.at(-1);
      if (item)
        expect([last?.kind, last?.version, last?.value], key).toEqual(["put", item.version, item.value]);
      else expect(last === undefined || last.kind === "delete", key).toBe(true);
    }
  });

  it("deleting a collection deletes its change log (item_changes has no foreign key)", async () => {
    const name = await tenant.collection();
    const { id } = await services.db.prisma.collection.findFirstOrThrow({
      where: { name },
      select: { id: true },
    });
    await upsertItems(services.db.sql, id, items(["d/a", "d/b"], 1));
    const logged = () =>
      services.db.sql.query<{ n: number }>(
        Prisma.sql`SELECT count(*)::int AS n FROM item_changes WHERE collection_id = ${id}::uuid`,
      );
    expect(await logged()).toEqual([{ n: 2 }]);
    await deleteCollection(services.db.prisma, tenant.project.id, name);
    expect(await logged()).toEqual([{ n: 0 }]);
  });

  it.runIf(usingPostgresServer())(
    "a writer whose transaction id is older than the last writer of its row logs its change after that one",
    async () => {
      await upsertItems(services.db.sql, collectionId, items(["o/k"], "first"));
      const pool = new pg.Pool({ connectionString: testEnv().DATABASE_URL, max: 1 });
      try {
        await poolSql(pool).transaction(async (tx) => {
          await tx.query(Prisma.sql`SELECT pg_current_xact_id()`); // an id older than the next writer's
          await upsertItems(services.db.sql, collectionId, items(["o/k"], "newer id, committed first"));
          await upsertItemsIn(tx, collectionId, items(["o/k"], "older id, committed last"));
          await deleteItem(tx, collectionId, "o/k");
          await upsertItemsIn(tx, collectionId, items(["o/k"], "older id, again"));
        });
      } finally {
        await pool.end();
      }
      const log = await changesOf("o/");
      expect(log.map((c) => [c.kind, c.value])).toEqual([
        ["put", '"first"'],
        ["put", '"newer id, committed first"'],
        ["put", '"older id, committed last"'],
        ["delete", null],
        ["put", '"older id, again"'],
      ]);
      expect((await getItem(services.db.sql, collectionId, "o/k"))!.value).toBe('"older id, again"');
    },
  );
});

import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsDir } from "../../server/migrate.js";
import { testEnv } from "../support/env.js";
import { createTestServices, type TestServices } from "../support/services.js";
import { createTenant, type Tenant } from "../support/tenant.js";

// The collection_stats counters (prisma/migrations/*_collection_stats, issue 11 defect 13) at the SQL
// level: the migration's backfill of existing items, applied the way the service applies it on each
// storage (the driver adapter's executeScript, which on PostgreSQL splits the script at semicolons),
// statements over several collections, TRUNCATE, and concurrent writers that never wait for each other.

const migrationSql = (suffix: string) => {
  const dir = readdirSync(migrationsDir).find((d) => d.endsWith(suffix));
  if (!dir) throw new Error(`no migration *${suffix}`);
  return readFileSync(join(migrationsDir, dir, "migration.sql"), "utf8");
};

type Query = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

const P = "11111111-1111-4111-8111-111111111111";
const A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const EMPTY = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee";

/** Per collection: items and bytes from counting the rows. */
const counted = (query: Query) =>
  query<{ id: string; items: number; bytes: number }>(
    `SELECT c.id::text AS id, count(i.key)::int AS items, COALESCE(sum(octet_length(i.value)), 0)::int AS bytes
       FROM collections c LEFT JOIN items i ON i.collection_id = c.id GROUP BY c.id ORDER BY c.id`,
  );

/** Per collection: items and bytes from the counters, and from counting the rows. */
async function both(query: Query) {
  const stats = await query<{ id: string; items: number; bytes: number }>(
    `SELECT c.id::text AS id, COALESCE(sum(s.items), 0)::int AS items, COALESCE(sum(s.bytes), 0)::int AS bytes
       FROM collections c LEFT JOIN collection_stats s ON s.collection_id = c.id GROUP BY c.id ORDER BY c.id`,
  );
  return { stats, truth: await counted(query) };
}

/** The life of the counters on a database that has the init migration and some items already. */
async function exercise(query: Query, applyScript: (sql: string) => Promise<void>) {
  await applyScript(migrationSql("_init"));
  await query(`INSERT INTO projects (id, name) VALUES ('${P}', 'p')`);
  await query(
    `INSERT INTO collections (id, project_id, name) VALUES ('${A}', '${P}', 'a'), ('${B}', '${P}', 'b'), ('${EMPTY}', '${P}', 'empty')`,
  );
  await query(
    `INSERT INTO items (collection_id, key, value, created, updated)
     SELECT CASE WHEN g % 3 = 0 THEN '${B}'::uuid ELSE '${A}'::uuid END, 'k' || g, '"h\u00e9llo ' || g || '"', now(), now()
       FROM generate_series(1, 300) g`,
  );
  const before = await counted(query);

  // the migration counts what is there
  await applyScript(migrationSql("_collection_stats"));
  const backfilled = await both(query);
  expect(backfilled.stats).toEqual(before);
  expect(backfilled.stats.find((s) => s.id === EMPTY)).toEqual({ id: EMPTY, items: 0, bytes: 0 });
  expect(await query(`SELECT count(*)::int AS n FROM collection_stats`)).toEqual([{ n: 2 }]);

  // statements over several collections at once
  await query(`INSERT INTO items (collection_id, key, value, created, updated) VALUES
               ('${A}', 'new-a', '[1,2,3]', now(), now()), ('${B}', 'new-b', '{}', now(), now()), ('${EMPTY}', 'first', 'null', now(), now())`);
  await query(`UPDATE items SET value = value || ' ' WHERE key LIKE 'k1%'`);
  await query(`UPDATE items SET updated = now()`); // sizes unchanged: counters untouched
  await query(`INSERT INTO items (collection_id, key, value, created, updated) VALUES ('${A}', 'k2', '2', now(), now()), ('${A}', 'k9999', '9', now(), now())
               ON CONFLICT (collection_id, key) DO UPDATE SET value = EXCLUDED.value`);
  await query(`DELETE FROM items WHERE key LIKE 'k2%'`);
  let now = await both(query);
  expect(now.stats).toEqual(now.truth);

  // a collection's deletion takes its counters along (and counts nothing on the way)
  await query(`DELETE FROM collections WHERE id = '${B}'`);
  expect(await query(`SELECT count(*)::int AS n FROM collection_stats WHERE collection_id = '${B}'`)).toEqual(
    [{ n: 0 }],
  );
  now = await both(query);
  expect(now.stats).toEqual(now.truth);

  // TRUNCATE empties them
  await query(`TRUNCATE items`);
  expect(await query(`SELECT count(*)::int AS n FROM collection_stats`)).toEqual([{ n: 0 }]);
  await query(
    `INSERT INTO items (collection_id, key, value, created, updated) VALUES ('${A}', 'again', '1', now(), now())`,
  );
  now = await both(query);
  expect(now.stats).toEqual(now.truth);
}

describe("the collection_stats migration and triggers", { timeout: 120_000 }, () => {
  it("backfill and follow every kind of write on the embedded database", async () => {
    const db = await PGlite.create({ extensions: { pg_trgm } });
    try {
      const connection = await new PrismaPGlite(db).connect();
      await exercise(
        async (sql) => (await db.query(sql)).rows as never[],
        async (sql) => {
          await connection.executeScript(sql);
          await db.query("SELECT 1"); // executeScript queues the script without waiting for it
        },
      );
    } finally {
      await db.close();
    }
  });

  const serverUrl = testEnv().DATABASE_URL;
  describe.runIf(Boolean(serverUrl))("on the PostgreSQL server", () => {
    const name = `stats_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
    afterAll(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });

    it("backfill and follow every kind of write, applied through @prisma/adapter-pg's executeScript", async () => {
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(serverUrl!);
      url.pathname = `/${name}`;
      const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
      try {
        const connection = await new PrismaPg(pool).connect();
        await exercise(
          async (sql) => (await pool.query(sql)).rows,
          (sql) => connection.executeScript(sql),
        );
      } finally {
        await pool.end();
      }
    });
  });
});

describe.runIf(Boolean(testEnv().DATABASE_URL))("concurrent writers into one collection (PostgreSQL)", () => {
  let services: TestServices;
  let tenant: Tenant;
  let collectionId: string;
  const clients: pg.Client[] = [];
  beforeAll(async () => {
    services = await createTestServices();
    tenant = await createTenant(services);
    const name = await tenant.collection();
    collectionId = (
      await services.db.prisma.collection.findFirstOrThrow({ where: { projectId: tenant.project.id, name } })
    ).id;
    for (let i = 0; i < 4; i++) {
      const c = new pg.Client({ connectionString: testEnv().DATABASE_URL });
      await c.connect();
      await c.query("SET lock_timeout = '3s'");
      clients.push(c);
    }
  });
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await tenant?.cleanup();
    await services?.close();
  });

  const insert = (c: pg.Client, key: string, value = '"v"') =>
    c.query(
      `INSERT INTO items (collection_id, key, value, created, updated) VALUES ($1, $2, $3, now(), now())`,
      [collectionId, key, value],
    );
  const slots = async () =>
    (
      await services.db.prisma.$queryRaw<{ slot: number; items: number }[]>`
        SELECT slot::int AS slot, items::int AS items FROM collection_stats WHERE collection_id = ${collectionId}::uuid ORDER BY slot`
    ).map((r) => [r.slot, r.items] as const);

  it("never wait for each other: each open transaction counts in a slot of its own", async () => {
    const [t1, t2, t3, t4] = clients as [pg.Client, pg.Client, pg.Client, pg.Client];
    await t1.query("BEGIN");
    await insert(t1, "t1-a");
    await t2.query("BEGIN");
    await insert(t2, "t2-a"); // would wait for t1 (lock_timeout: error) if both counted in one row
    await insert(t3, "t3-autocommit");
    await insert(t1, "t1-b"); // t1 keeps its own slot
    await t1.query("COMMIT");
    await t2.query("COMMIT");
    const used = await slots();
    expect(used.length).toBe(3);
    expect(used.reduce((n, [, items]) => n + items, 0)).toBe(4);
    // once they are free, slots are reused: a new writer takes the first one and adds none
    await insert(t4, "t4");
    expect((await slots()).length).toBe(3);
    expect((await slots()).reduce((n, [, items]) => n + items, 0)).toBe(5);
  });

  it("and a transaction that holds a slot while another updates rows it needs does not deadlock", async () => {
    const [t1, t2] = clients as [pg.Client, pg.Client];
    await insert(t1, "shared", '"0"');
    await t1.query("BEGIN");
    await insert(t1, "t1-only");
    await t2.query("BEGIN");
    await t2.query(`UPDATE items SET value = '"22"' WHERE collection_id = $1 AND key = 'shared'`, [
      collectionId,
    ]);
    const t1Update = t1.query(
      `UPDATE items SET value = '"111"' WHERE collection_id = $1 AND key = 'shared'`,
      [collectionId],
    ); // waits for t2
    await insert(t2, "t2-only"); // t2 counts in its own slot: no wait for t1
    await t2.query("COMMIT");
    await t1Update;
    await t1.query("COMMIT");
    const [row] = await services.db.prisma.$queryRaw<
      { items: number; bytes: number; n: number; b: number }[]
    >`
      SELECT (SELECT sum(items)::int FROM collection_stats WHERE collection_id = ${collectionId}::uuid) AS items,
             (SELECT sum(bytes)::int FROM collection_stats WHERE collection_id = ${collectionId}::uuid) AS bytes,
             (SELECT count(value)::int FROM items WHERE collection_id = ${collectionId}::uuid) AS n,
             (SELECT sum(octet_length(value))::int FROM items WHERE collection_id = ${collectionId}::uuid) AS b`;
    expect(row!.items).toBe(row!.n);
    expect(row!.bytes).toBe(row!.b);
  });
});

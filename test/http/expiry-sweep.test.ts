import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Prisma } from "../../server/generated/prisma/client.js";
import {
  expireItems,
  pruneChanges,
  purgeTombstones,
  startSweeper,
  sweepOnce,
  type SweepSettings,
} from "../../server/services/sweep.js";
import { usingPostgresServer } from "../support/env.js";
import { freshDatabase, type FreshDatabase } from "../support/fresh-database.js";
import { call } from "../support/items.js";
import { cliOk } from "../support/admin-cli.js";
import { startServerProcess } from "../support/process.js";
import { rawRequest } from "../support/raw.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { createTenant, type Tenant } from "../support/tenant.js";

// SPEC §9.2, §9.3: the expiry sweep (server/services/sweep.ts), run here by hand or with a tiny interval,
// on a database of this file's own (the sweep works on every collection of a database). Expired items
// become tombstones logged as `expire` changes; tombstones go once past the grace and below every running
// transaction; the change log is pruned past retention and each collection's floor raised; every step in
// bounded batches; writers are never lost. And `npm start` runs it, every EXPIRY_SWEEP_INTERVAL_MS.

const PAST = "2000-01-01T00:00:00Z";
const HOUR = 3_600_000;
const keepAll: SweepSettings = { batch: 1000, retentionMs: 1000 * HOUR, tombstoneGraceMs: 1000 * HOUR };

let fresh: FreshDatabase;
let server: TestServer;
let tenant: Tenant;

beforeAll(async () => {
  fresh = await freshDatabase();
  server = await startTestServer(fresh.storage);
  tenant = await createTenant(server.services);
}, 120_000);
afterAll(async () => {
  await tenant?.cleanup();
  await server?.close();
  await fresh?.drop();
});

const sql = () => server.services.db.sql;

async function collection(): Promise<{ name: string; id: string }> {
  const name = await tenant.collection();
  const [row] = await sql().query<{ id: string }>(
    Prisma.sql`SELECT id::text AS id FROM collections WHERE name = ${name}`,
  );
  return { name, id: row!.id };
}

async function post(name: string, items: unknown[]) {
  const r = await call(server, tenant.users.editor, "POST", `/collections/${name}`, items);
  expect(r.status, r.text).toBeLessThan(300);
  expect(r.body.errors).toEqual([]);
}

interface Row {
  key: string;
  value: string | null;
  version: string;
  expired: boolean;
}
const rowsOf = (collectionId: string) =>
  sql().query<Row>(Prisma.sql`
    SELECT key, value, version::text AS version, NOT (expires IS NULL OR expires > clock_timestamp()) AS expired
    FROM items WHERE collection_id = ${collectionId}::uuid ORDER BY key`);

interface Change {
  key: string;
  kind: string;
  value: string | null;
  xid: string;
  version: string;
}
const changesOf = (collectionId: string) =>
  sql().query<Change>(Prisma.sql`
    SELECT key, kind::text AS kind, value, xid::text AS xid, version::text AS version FROM item_changes
    WHERE collection_id = ${collectionId}::uuid ORDER BY item_changes.xid, item_changes.version`);

const floorOf = async (collectionId: string) =>
  (
    await sql().query<{ xid: string; version: string }>(Prisma.sql`
      SELECT changes_floor_xid::text AS xid, changes_floor_version::text AS version FROM collections
      WHERE id = ${collectionId}::uuid`)
  )[0]!;

/** Sweeps away what earlier tests of the file left (expired items, tombstones), so that counts are this test's. */
const settle = () => sweepOnce(sql(), { ...keepAll, tombstoneGraceMs: 0 });

/**
 * Runs `step` until it has done `total` in all, each run doing at most `most`. Tombstones and changes go
 * only once no running transaction is older than them, and the test files running beside this one (on
 * the same PostgreSQL server) may hold such a transaction for a moment.
 */
async function until(step: () => Promise<number>, total: number, most = Infinity): Promise<void> {
  let done = 0;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const n = await step();
    expect(n).toBeLessThanOrEqual(most);
    done += n;
    if (done >= total || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(done).toBe(total);
}

const listedItems = async (name: string) =>
  (
    await call(server, tenant.users.viewer, "GET", `/collections?project_id=${tenant.project.id}`)
  ).body.results.find((c: { name: string }) => c.name === name).items;

describe("the expiry sweep", () => {
  it("makes expired items tombstones in bounded batches, in every collection, each logged as an expire change", async () => {
    await settle();
    const a = await collection();
    const b = await collection();
    await post(a.name, [
      { key: "live-1", value: 1 },
      { key: "live-2", value: 2 },
      { key: "future", value: 3, ttl_seconds: 3600 },
      ...["x-1", "x-2", "x-3", "x-4", "x-5"].map((key) => ({ key, value: key, expires_at: PAST })),
    ]);
    await post(
      b.name,
      ["y-1", "y-2", "y-3"].map((key) => ({ key, value: key, expires_at: PAST })),
    );
    const before = await rowsOf(a.id);
    // The counters count stored items: expired ones until the sweep removes them.
    expect(await listedItems(a.name)).toBe(8);

    expect(await expireItems(sql(), 3)).toBe(3);
    const tombstones = async () =>
      (await rowsOf(a.id)).concat(await rowsOf(b.id)).filter((r) => r.value === null).length;
    expect(await tombstones()).toBe(3);
    expect(await sweepOnce(sql(), { ...keepAll, batch: 3 })).toEqual({ expired: 5, purged: 0, pruned: 0 });
    expect(await tombstones()).toBe(8);
    expect(await sweepOnce(sql(), { ...keepAll, batch: 3 })).toEqual({ expired: 0, purged: 0, pruned: 0 });

    const after = await rowsOf(a.id);
    for (const row of after) {
      const was = before.find((r) => r.key === row.key)!;
      if (row.key.startsWith("x-")) {
        expect(row).toMatchObject({ value: null, expired: true });
        expect(BigInt(row.version)).toBeGreaterThan(BigInt(was.version));
      } else {
        expect(row, row.key).toEqual(was); // live items untouched
      }
    }
    for (const c of [a, b]) {
      const log = await changesOf(c.id);
      for (const key of c === a ? ["x-1", "x-2", "x-3", "x-4", "x-5"] : ["y-1", "y-2", "y-3"]) {
        const ofKey = log.filter((l) => l.key === key);
        expect(
          ofKey.map((l) => [l.kind, l.value]),
          key,
        ).toEqual([
          ["put", JSON.stringify(key)],
          ["expire", null],
        ]);
        expect(BigInt(ofKey[1]!.version)).toBeGreaterThan(BigInt(ofKey[0]!.version));
      }
    }
    expect((await changesOf(a.id)).filter((l) => l.kind === "expire")).toHaveLength(5);
    expect(await listedItems(a.name)).toBe(3);
    expect(await listedItems(b.name)).toBe(0);
    // An expired key written again is a new item.
    const again = await call(server, tenant.users.editor, "POST", `/collections/${a.name}`, [
      { key: "x-1", value: 9 },
    ]);
    expect(again.status).toBe(201);
    expect(
      (await call(server, tenant.users.viewer, "GET", `/collections/${a.name}/x-*`)).body.results,
    ).toMatchObject([{ key: "x-1", value: 9 }]);
  });

  it("purges tombstones once past the grace and below every running transaction, in bounded batches", async () => {
    await settle();
    const c = await collection();
    await post(c.name, [
      { key: "live", value: 1 },
      { key: "deleted-1", value: 1 },
      { key: "deleted-2", value: 1 },
      { key: "expired", value: 1, expires_at: PAST },
    ]);
    for (const key of ["deleted-1", "deleted-2"])
      expect(
        (await call(server, tenant.users.editor, "DELETE", `/collections/${c.name}/${key}`)).body.deleted,
      ).toBe(1);
    await sweepOnce(sql(), keepAll);
    const keys = async () => (await rowsOf(c.id)).map((r) => [r.key, r.value === null]);
    expect(await keys()).toEqual([
      ["deleted-1", true],
      ["deleted-2", true],
      ["expired", true],
      ["live", false],
    ]);
    // Younger than the grace: kept.
    expect(await purgeTombstones(sql(), 1000, 60_000)).toBe(0);
    await until(() => purgeTombstones(sql(), 2, 0), 2, 2);
    await until(
      async () => (await sweepOnce(sql(), { ...keepAll, batch: 2, tombstoneGraceMs: 0 })).purged,
      1,
    );
    expect(await keys()).toEqual([["live", false]]);
    // The change log keeps every change; versions keep growing for a key written again.
    const log = await changesOf(c.id);
    expect(log.map((l) => [l.key, l.kind])).toEqual([
      ["live", "put"],
      ["deleted-1", "put"],
      ["deleted-2", "put"],
      ["expired", "put"],
      ["deleted-1", "delete"],
      ["deleted-2", "delete"],
      ["expired", "expire"],
    ]);
    await post(c.name, [{ key: "deleted-1", value: 2 }]);
    const [row] = (await rowsOf(c.id)).filter((r) => r.key === "deleted-1");
    expect(BigInt(row!.version)).toBeGreaterThan(BigInt(log.find((l) => l.kind === "delete")!.version));
  });

  it.runIf(usingPostgresServer())(
    "keeps the tombstones newer than a transaction still running (PostgreSQL)",
    async () => {
      await settle();
      const c = await collection();
      await post(c.name, [
        { key: "old", value: 1 },
        { key: "new", value: 1 },
      ]);
      await call(server, tenant.users.editor, "DELETE", `/collections/${c.name}/old`);
      const client = new pg.Client({ connectionString: fresh.storage.DATABASE_URL });
      await client.connect();
      try {
        await client.query("BEGIN");
        await client.query("SELECT pg_current_xact_id()"); // holds a transaction id older than what follows
        await call(server, tenant.users.editor, "DELETE", `/collections/${c.name}/new`);
        await until(() => purgeTombstones(sql(), 1000, 0), 1);
        await new Promise((r) => setTimeout(r, 200));
        expect(await purgeTombstones(sql(), 1000, 0)).toBe(0); // "new" stays while the client runs
        expect((await rowsOf(c.id)).map((r) => r.key)).toEqual(["new"]);
        await client.query("ROLLBACK");
      } finally {
        await client.end();
      }
      await until(() => purgeTombstones(sql(), 1000, 0), 1);
      expect(await rowsOf(c.id)).toEqual([]);
    },
  );

  it("prunes the change log past retention as a prefix in position order, raising each collection's floor", async () => {
    const c = await collection();
    const d = await collection();
    for (const key of ["c-1", "c-2", "c-3", "c-4", "c-5", "c-6"]) await post(c.name, [{ key, value: key }]);
    for (const key of ["d-1", "d-2"]) await post(d.name, [{ key, value: key }]);
    const age = (id: string, key: string, hours: number) =>
      sql().execute(Prisma.sql`
        UPDATE item_changes SET at = clock_timestamp() - ${hours}::float8 * interval '1 hour'
        WHERE collection_id = ${id}::uuid AND key = ${key}`);
    // Past retention (1 hour): c-1, c-2, c-4 and d-1; c-3 is recent but comes before c-4.
    await age(c.id, "c-1", 3);
    await age(c.id, "c-2", 2.5);
    await age(c.id, "c-4", 2);
    await age(d.id, "d-1", 1.5);
    const position = async (id: string, key: string) => {
      const change = (await changesOf(id)).find((l) => l.key === key)!;
      return { xid: change.xid, version: change.version };
    };
    const [c2, c4, d1] = [
      await position(c.id, "c-2"),
      await position(c.id, "c-4"),
      await position(d.id, "d-1"),
    ];
    const settings = { ...keepAll, retentionMs: HOUR };

    await until(() => pruneChanges(sql(), 2, HOUR), 2, 2);
    expect((await changesOf(c.id)).map((l) => l.key)).toEqual(["c-3", "c-4", "c-5", "c-6"]);
    expect(await floorOf(c.id)).toEqual(c2);
    expect(await floorOf(d.id)).toEqual({ xid: "0", version: "0" });

    await until(async () => (await sweepOnce(sql(), { ...settings, batch: 2 })).pruned, 3);
    expect((await changesOf(c.id)).map((l) => l.key)).toEqual(["c-5", "c-6"]);
    expect((await changesOf(d.id)).map((l) => l.key)).toEqual(["d-2"]);
    expect(await floorOf(c.id)).toEqual(c4);
    expect(await floorOf(d.id)).toEqual(d1);
    // Every change left is above the floor: a cursor at the floor has lost nothing.
    for (const l of await changesOf(c.id))
      expect(
        BigInt(l.xid) > BigInt(c4.xid) || (l.xid === c4.xid && BigInt(l.version) > BigInt(c4.version)),
      ).toBe(true);

    // A floor is only ever raised.
    await sql().execute(Prisma.sql`
      UPDATE collections SET changes_floor_xid = changes_floor_xid + 1000000 WHERE id = ${c.id}::uuid`);
    const raised = await floorOf(c.id);
    await age(c.id, "c-5", 2);
    await until(async () => (await sweepOnce(sql(), settings)).pruned, 1);
    expect(await floorOf(c.id)).toEqual(raised);
    expect((await changesOf(c.id)).map((l) => l.key)).toEqual(["c-6"]);
  });

  it("never loses or blocks for good a writer rewriting keys while two sweeps run", async () => {
    const w = await collection();
    const keys = Array.from({ length: 120 }, (_, i) => `w-${i}`);
    await post(
      w.name,
      keys.map((key) => ({ key, value: 0, expires_at: PAST })),
    );
    const logs = server.services.logs.length;
    // Two sweepers, as two instances on one database would run.
    const sweepers = [7, 5].map((batch) =>
      startSweeper({ sql: sql(), log: server.services.log }, 1, {
        batch,
        retentionMs: 1000 * HOUR,
        tombstoneGraceMs: 0,
      })!,
    );
    const writes = new Map<string, number>(keys.map((k) => [k, 1]));
    const rounds = 6;
    try {
      // Four writers, each with its own keys; odd rounds write items that are expired already.
      await Promise.all(
        [0, 1, 2, 3].map(async (writer) => {
          const own = keys.filter((_, i) => i % 4 === writer);
          for (let round = 1; round <= rounds; round++) {
            for (let i = 0; i < own.length; i += 10) {
              const chunk = own.slice(i, i + 10);
              await post(
                w.name,
                chunk.map((key) => ({ key, value: round, ...(round % 2 ? { expires_at: PAST } : {}) })),
              );
              for (const key of chunk) writes.set(key, writes.get(key)! + 1);
            }
          }
        }),
      );
    } finally {
      await Promise.all(sweepers.map((s) => s.stop()));
    }
    await sweepOnce(sql(), { ...keepAll, tombstoneGraceMs: 0 });
    const got = (await call(server, tenant.users.viewer, "GET", `/collections/${w.name}?limit=1000`)).body
      .results;
    // (In insertion order: a key written again after it expired is a new item, with a new sequence number.)
    const values = new Map(got.map((r: { key: string; value: unknown }) => [r.key, r.value]));
    expect(values).toEqual(new Map(keys.map((k) => [k, rounds])));
    expect(got).toHaveLength(keys.length);
    // Per key, the log in position order has every write once, versions growing, the last write last.
    const log = await changesOf(w.id);
    for (const key of keys) {
      const ofKey = log.filter((l) => l.key === key);
      const versions = ofKey.map((l) => BigInt(l.version));
      expect(versions, key).toEqual([...versions].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
      expect(
        ofKey.filter((l) => l.kind === "put"),
        key,
      ).toHaveLength(writes.get(key)!);
      expect(ofKey.at(-1), key).toMatchObject({ kind: "put", value: String(rounds) });
      expect(ofKey.every((l) => l.kind !== "delete")).toBe(true);
    }
    expect(server.services.logs.slice(logs).filter((l) => l.level === "warn" || l.level === "error")).toEqual(
      [],
    );
  });

  it("logs one line per round that did work and counts what it removed in /metrics", async () => {
    await settle();
    const c = await collection();
    await post(
      c.name,
      ["m-1", "m-2", "m-3", "m-4", "m-5"].map((key) => ({ key, value: 1, expires_at: PAST })),
    );
    const from = server.services.logs.length;
    const sweeper = startSweeper(
      { sql: sql(), log: server.services.log, counters: server.services.metrics.sweep },
      5,
      keepAll,
    )!;
    try {
      await vi.waitFor(
        () =>
          expect(
            server.services.logs
              .slice(from)
              .filter((l) => l.msg === "expiry sweep")
              .reduce((n, l) => n + (l.expired as number), 0),
          ).toBe(5),
        { timeout: 30_000 },
      );
    } finally {
      await sweeper.stop();
    }
    const lines = server.services.logs.slice(from).filter((l) => l.msg === "expiry sweep");
    for (const line of lines) {
      expect(line).toMatchObject({ level: "info", purged: 0, pruned: 0, duration_ms: expect.any(Number) });
      expect(line.expired).toBeGreaterThan(0);
    }
    const metrics = await rawRequest(server, "GET", "/metrics");
    expect(metrics.text).toMatch(/^collections_items_expired_total 5$/m);
    expect(metrics.text).toMatch(/^collections_tombstones_purged_total 0$/m);
  });
});

describe("npm start runs the sweep every EXPIRY_SWEEP_INTERVAL_MS", { timeout: 180_000 }, () => {
  it("tombstones an item of a collection created with --ttl once it expires, and stops cleanly", async () => {
    const own = await freshDatabase();
    const storage = { ...own.storage, EXPIRY_SWEEP_INTERVAL_MS: "100", LOG_LEVEL: "info" };
    const proc = await startServerProcess(storage);
    try {
      const email = "sweep@process.test";
      await cliOk(storage, ["user:create", "--email", email]);
      await cliOk(storage, ["project:create", "--name", "sweeping"]);
      await cliOk(storage, [
        "project:add-member",
        "--project",
        "sweeping",
        "--email",
        email,
        "--role",
        "editor",
      ]);
      await cliOk(storage, ["collection:create", "--project", "sweeping", "--name", "brief", "--ttl", "1"]);
      const { token } = await cliOk<{ token: string }>(storage, ["token:create", "--email", email]);
      const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const res = await fetch(`${proc.url}/collections/brief`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify([{ key: "k", value: 1 }]),
      });
      expect(res.status).toBe(201);
      const sweepLines = () => proc.lines.filter((l) => (l as { msg?: string }).msg === "expiry sweep");
      await vi.waitFor(() => expect(sweepLines()).toMatchObject([{ expired: 1 }]), {
        timeout: 60_000,
        interval: 100,
      });
      const metrics = await (await fetch(`${proc.url}/metrics`)).text();
      expect(metrics).toMatch(/^collections_items_expired_total 1$/m);
    } finally {
      expect(await proc.stop()).toBe(0);
      await own.drop();
    }
    const problems = proc.lines.filter((l) =>
      ["warn", "error"].includes((l as { level?: string }).level ?? ""),
    );
    expect(problems).toEqual([]);
  });
});

import { describe, expect } from "vitest";
import { send } from "../support/auth.js";
import { usingPostgresServer } from "../support/env.js";
import { test } from "../support/fixtures.js";

// Item counts and stored value bytes in GET /collections (issue 11, defect 13; SPEC §3.4, §9.5), kept by
// statement-level triggers on items rather than counted on each call: right after inserts, updates,
// deletes by key, pattern and all, a collection's deletion, and many concurrent writers.

interface Entry {
  name: string;
  items: number;
  bytes: number;
}

/** The owner's authorization, and the collection statistics as listed and as counted from the rows. */
const it = test.extend("stats", { scope: "file" }, ({ server, tenant }) => {
  const owner = tenant.users.owner.headers.authorization!;

  async function listed(name: string): Promise<Entry | undefined> {
    const r = await send(server, owner, "GET", `/collections?project_id=${tenant.project.id}&limit=1000`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return (r.body.results as Entry[]).find((c) => c.name === name);
  }

  /** What counting the rows says (the truth the counters must agree with). */
  async function counted(name: string): Promise<{ items: number; bytes: number }> {
    const [row] = await server.services.db.prisma.$queryRaw<{ items: number; bytes: number }[]>`
      SELECT count(*)::float8 AS items, COALESCE(sum(octet_length(i.value)), 0)::float8 AS bytes
      FROM items i JOIN collections c ON c.id = i.collection_id
      WHERE c.project_id = ${tenant.project.id}::uuid AND c.name = ${name} AND i.value IS NOT NULL`;
    return row!;
  }

  async function expectStats(name: string, items: number, bytes: number): Promise<void> {
    expect(await counted(name)).toEqual({ items, bytes });
    const entry = await listed(name);
    expect(entry).toMatchObject({ name, items, bytes });
  }

  const upsert = async (name: string, items: { key: string; value: unknown }[]) => {
    const r = await send(server, owner, "POST", `/collections/${name}`, items);
    expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
  };
  const remove = async (path: string) => {
    const r = await send(server, owner, "DELETE", path);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };

  return { owner, listed, counted, expectStats, upsert, remove };
});
it.override({ serverEnv: { COLLECTIONS_MAX_LIMIT: "1000" } });

describe("items and bytes of GET /collections", () => {
  it("follow inserts, updates (bytes change, items do not), and deletes by key, pattern and all", async ({
    server,
    tenant,
    stats: { owner, listed, counted, expectStats, upsert, remove },
  }) => {
    const name = await tenant.collection();
    await expectStats(name, 0, 0);

    // "héllo" is 8 bytes of JSON text (é is two bytes in UTF-8), 42 is 2, {"a":1} is 7
    await upsert(name, [
      { key: "p-1", value: "héllo" },
      { key: "p-2", value: 42 },
      { key: "q-1", value: { a: 1 } },
    ]);
    await expectStats(name, 3, 8 + 2 + 7);

    // an update changes bytes only; a same-size rewrite changes nothing
    await upsert(name, [{ key: "p-2", value: 4200 }]);
    await expectStats(name, 3, 8 + 4 + 7);
    await upsert(name, [{ key: "p-2", value: 4201 }]);
    await expectStats(name, 3, 8 + 4 + 7);
    // an upsert that both inserts and updates
    await upsert(name, [
      { key: "q-1", value: null },
      { key: "q-2", value: [1, 2, 3] },
    ]);
    await expectStats(name, 4, 8 + 4 + 4 + 7);

    // Lightning writes go through the same table
    const put = await send(server, owner, "PUT", `/lightning/collections/${name}/l-1`, { value: "abc" });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const afterPut = await counted(name);
    expect(afterPut.items).toBe(5);
    expect(await listed(name)).toMatchObject(afterPut);

    await remove(`/collections/${name}/q-2`);
    await expectStats(name, 4, afterPut.bytes - 7);
    await remove(`/collections/${name}/p-*`);
    await expectStats(name, 2, afterPut.bytes - 7 - 8 - 4);
    await remove(`/collections/${name}`);
    await expectStats(name, 0, 0);
  });

  it("are gone with the collection, and a new collection of the same name starts at zero", async ({
    server,
    tenant,
    stats: { owner, counted, expectStats, upsert },
  }) => {
    const name = "stats-recreated";
    await tenant.collection(name);
    await upsert(
      name,
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: i })),
    );
    await expectStats(name, 50, (await counted(name)).bytes);
    const id = (
      await server.services.db.prisma.collection.findFirstOrThrow({
        where: { projectId: tenant.project.id, name },
      })
    ).id;
    const del = await send(server, owner, "DELETE", `/projects/${tenant.project.id}/collections/${name}`);
    expect(del.status).toBe(200);
    const left = await server.services.db.prisma.$queryRaw<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM collection_stats WHERE collection_id = ${id}::uuid`;
    expect(left).toEqual([{ n: 0 }]);
    await tenant.collection(name);
    await expectStats(name, 0, 0);
  });

  it("stay exact under concurrent writers into one collection", async ({
    server,
    tenant,
    stats: { listed, counted, upsert, remove },
  }) => {
    const name = await tenant.collection();
    const writers = 8;
    const rounds = 12;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let r = 0; r < rounds; r++) {
          // new keys of this writer, updates of keys every writer shares, and a delete now and then
          await upsert(name, [
            ...Array.from({ length: 20 }, (_, i) => ({
              key: `w${w}-r${r}-${i}`,
              value: "x".repeat((w + r + i) % 13),
            })),
            ...Array.from({ length: 5 }, (_, i) => ({
              key: `shared-${(r + i) % 7}`,
              value: { writer: w, round: r, pad: "y".repeat(w) },
            })),
          ]);
          if (r % 3 === 2) await remove(`/collections/${name}/w${w}-r${r - 1}-*`);
        }
      }),
    );
    const truth = await counted(name);
    expect(truth.items).toBe(writers * rounds * 20 - writers * Math.floor(rounds / 3) * 20 + 7);
    expect(await listed(name)).toMatchObject(truth);
    if (usingPostgresServer()) {
      // the writers were spread over several counter rows (slots) instead of queueing on one
      const [row] = await server.services.db.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM collection_stats s JOIN collections c ON c.id = s.collection_id
        WHERE c.project_id = ${tenant.project.id}::uuid AND c.name = ${name}`;
      expect(row!.n).toBeGreaterThanOrEqual(1);
    }
  });
});

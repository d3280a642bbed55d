import { describe, expect } from "vitest";
import { testEnv, usingPostgresServer } from "../support/env.js";
import { test } from "../support/fixtures.js";
import { call, seed } from "../support/items.js";
import { sleep } from "../support/integrity.js";

// Issue 11, defect 14 (SPEC §3.2, §6): a small upsert (≤ 1000 items) and a large one (> 1000 items) of one collection,
// overlapping in existing keys and each with new keys, must never fail. The mix that went wrong: a large
// upsert holds the collection's writer lock while it writes chunk after chunk; a small one arriving then
// locks its existing rows (which the large one reaches in a later chunk) and waits for the collection
// lock: a lock cycle. PostgreSQL breaks it by failing the small one, which was retried at most 3 times,
// so with several large upserts queued the small request became a 500.
//
// PostgreSQL server only: the embedded database has one connection, so its writers never overlap.
// deadlock_timeout is lowered for the service's connections so that a cycle costs 100 ms, not 1 s.

const EXISTING = 1500;
const existing = Array.from({ length: EXISTING }, (_, i) => `e${String(i).padStart(4, "0")}`);

const it = test.extend("collection", { scope: "file" }, async ({ server, tenant }) => {
  const name = await tenant.collection();
  await seed(
    server,
    name,
    tenant.project.id,
    existing.map((key) => ({ key, value: 0 })),
  );
  return name;
});
if (usingPostgresServer()) {
  const url = new URL(testEnv().DATABASE_URL!);
  url.searchParams.set("options", "-c deadlock_timeout=100ms");
  it.override({ serverEnv: { DATABASE_URL: url.toString() } });
}

/** 2,500 items: 1,000 new keys first, then every existing key, so that the last existing keys come in the third chunk. */
const large = (tag: string) => [
  ...Array.from({ length: 1000 }, (_, i) => ({ key: `${tag}-${String(i).padStart(4, "0")}`, value: tag })),
  ...existing.map((key) => ({ key, value: tag })),
];
/**
 * 11 items: the last 10 existing keys (the large upserts' last chunk) and one new key that sorts after them
 * (a writer that locks its existing rows in key order then holds them when it reaches the new key).
 */
const small = (tag: string) => [
  ...existing.slice(-10).map((key) => ({ key, value: tag })),
  { key: `z-${tag}`, value: tag },
];

describe("14. concurrent small and large upserts of one collection never fail (PostgreSQL server)", () => {
  it.skipIf(!usingPostgresServer())(
    "6 rounds of 3 large (2,500 items) and 3 small (11 items) upserts at once: every answer 200/201, every key written",
    async ({ server, tenant, collection: name }) => {
      const expectedKeys = new Set(existing);
      const failures: string[] = [];
      for (let round = 0; round < 6; round++) {
        const requests: Promise<{ what: string; status: number; text: string }>[] = [];
        const send = (what: string, items: { key: string; value: string }[]) => {
          for (const it of items) expectedKeys.add(it.key);
          requests.push(
            call(server, tenant.users.editor, "POST", `/collections/${name}`, items).then((r) => ({
              what,
              status: r.status,
              text: r.text,
            })),
          );
        };
        const started = Date.now();
        for (let j = 0; j < 3; j++) send(`round ${round} large ${j}`, large(`L${round}${j}`));
        // The small ones arrive while large ones hold the collection (staggered: the moment depends on the machine).
        for (const at of [20, 80, 160]) {
          await sleep(at - (Date.now() - started));
          send(`round ${round} small at ${at} ms`, small(`S${round}-${at}`));
        }
        for (const r of await Promise.all(requests)) {
          if (r.status !== 200 && r.status !== 201)
            failures.push(`${r.what}: ${r.status} ${r.text.slice(0, 200)}`);
        }
      }
      expect(failures, failures.join("\n")).toEqual([]);
      const rows = await server.services.db.prisma.$queryRaw<{ key: string }[]>`
      SELECT key FROM items WHERE collection_id = (SELECT id FROM collections WHERE project_id = ${tenant.project.id}::uuid AND name = ${name}) AND value IS NOT NULL`;
      const stored = new Set(rows.map((r) => r.key));
      expect([...expectedKeys].filter((k) => !stored.has(k))).toEqual([]);
      expect(stored.size).toBe(expectedKeys.size);
    },
  );
});

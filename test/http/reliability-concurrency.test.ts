import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { rawRequest } from "../support/raw.js";

// 16 clients at once on one collection: writers upsert and delete overlapping keys while readers
// stream. No 5xx, no duplicate key, every final value was written by someone, counts add up.

const it = test.extend("collection", { scope: "file" }, ({ tenant }) => tenant.collection());
it.override({ serverEnv: { STREAM_BATCH_SIZE: "7", DELETE_BATCH_SIZE: "3" } });

const KEYS = Array.from({ length: 30 }, (_, i) => `key-${i % 10}-${i}`);
const ROUNDS = 12;

/** A small deterministic generator, so that a failure can be replayed. */
function random(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
}

describe("16 concurrent clients", () => {
  it("writers and deleters on overlapping keys, readers streaming", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const written = new Map<string, Set<string>>(); // key → every value text some client sent
    const statuses: number[] = [];
    const owner = { ...tenant.users.owner.headers, "content-type": "application/json" };
    let writersDone = false;

    const writer = async (client: number) => {
      const next = random(client + 1);
      for (let round = 0; round < ROUNDS; round++) {
        const op = next(10);
        if (op < 6) {
          const keys = [...new Set(Array.from({ length: 1 + next(5) }, () => KEYS[next(KEYS.length)]!))];
          const items = keys.map((key) => ({ key, value: { client, round, key } }));
          for (const it of items) {
            if (!written.has(it.key)) written.set(it.key, new Set());
            written.get(it.key)!.add(JSON.stringify(it.value));
          }
          const r = await rawRequest(server, "POST", `/collections/${name}`, owner, JSON.stringify(items));
          statuses.push(r.status);
          expect(r.body?.upserted, r.text).toBe(items.length);
        } else if (op < 8) {
          const r = await rawRequest(
            server,
            "DELETE",
            `/collections/${name}/${KEYS[next(KEYS.length)]}`,
            owner,
          );
          statuses.push(r.status);
          expect(r.body.deleted).toBe(r.body.keys.length);
        } else if (op < 9) {
          const r = await rawRequest(server, "DELETE", `/collections/${name}/key-${next(10)}-*`, owner);
          statuses.push(r.status);
          expect(r.body.deleted).toBe(r.body.keys.length);
          expect(new Set(r.body.keys).size).toBe(r.body.keys.length);
        } else {
          const key = KEYS[next(KEYS.length)]!;
          const value = `lightning-${client}-${round}`;
          if (!written.has(key)) written.set(key, new Set());
          written.get(key)!.add(JSON.stringify(value)); // stored as a JSON string (README, Interop)
          const r = await rawRequest(
            server,
            "PUT",
            `/lightning/collections/${name}/${key}`,
            owner,
            JSON.stringify({ value }),
          );
          statuses.push(r.status);
          expect(r.body).toEqual({ upserted: 1, error: null });
        }
      }
    };
    const reader = async () => {
      let reads = 0;
      while (!writersDone || reads < 2) {
        const r = await rawRequest(server, "GET", `/collections/${name}`, tenant.users.viewer.headers);
        statuses.push(r.status);
        const keys = r.body.results.map((i: { key: string }) => i.key);
        expect(new Set(keys).size).toBe(keys.length);
        expect(r.body.end_offset).toBe(keys.length);
        reads++;
      }
    };

    const readers = [reader(), reader(), reader(), reader()];
    await Promise.all(Array.from({ length: 12 }, (_, c) => writer(c)));
    writersDone = true;
    await Promise.all(readers);

    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => ![200, 201].includes(s))).toEqual([]);

    const final = await rawRequest(server, "GET", `/collections/${name}`, tenant.users.viewer.headers);
    const results: { key: string; value: unknown }[] = final.body.results;
    expect(new Set(results.map((i) => i.key)).size).toBe(results.length);
    for (const item of results) {
      expect(written.get(item.key), item.key).toBeDefined();
      expect(
        written.get(item.key)!.has(JSON.stringify(item.value)),
        `${item.key} = ${JSON.stringify(item.value)}`,
      ).toBe(true);
    }
    const listed = await rawRequest(server, "GET", "/collections", tenant.users.viewer.headers);
    expect(listed.body.results.find((c: { name: string }) => c.name === name).items).toBe(results.length);
    const lightning = await rawRequest(
      server,
      "GET",
      `/lightning/collections/${name}?limit=1000`,
      tenant.users.viewer.headers,
    );
    expect(lightning.body.items.map((i: { key: string }) => i.key)).toEqual(results.map((i) => i.key));
  });
});

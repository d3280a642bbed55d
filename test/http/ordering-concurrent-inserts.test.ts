import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { rawRequest } from "../support/raw.js";
import { usingPostgresServer } from "../support/env.js";

// Issue 13: writers of new keys into one collection take no lock in common, so their transactions commit
// in any order. 8 writers insert new keys while readers page with cursors (REST and Lightning, small
// pages) and stream whole collections. A pass never repeats a key, and holds every key whose write was
// acknowledged before the pass's last request was sent: a transaction that commits after a reader has
// passed its position is read by the reader's next page (the cursor's pending list), never skipped.

const it = test.extend("collection", { scope: "file" }, ({ tenant }) => tenant.collection());
// Small batches, so that one page or stream reads in several statements (snapshots).
it.override({ serverEnv: { STREAM_BATCH_SIZE: "5" } });

const WRITERS = 8;
const KEYS_PER_WRITE = 10;
/** Writers pause between writes, so that readers finish passes while they write. */
const PAUSE_MS = 40;
const WRITE_MS = usingPostgresServer() ? 6000 : 3000;

interface Pass {
  keys: string[];
  /** When the request that ended the pass (cursor null) was sent. */
  lastSentAt: number;
}

describe("8 writers inserting new keys into one collection", () => {
  it("readers paging with cursors and streaming never repeat or skip a key", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const acked = new Map<string, number>(); // key → when its write was acknowledged
    const owner = { ...tenant.users.owner.headers, "content-type": "application/json" };
    const viewer = tenant.users.viewer.headers;
    const statuses: number[] = [];
    const deadline = Date.now() + WRITE_MS;
    let writersDone = false;

    const writer = async (w: number) => {
      for (let round = 0; Date.now() < deadline; round++) {
        const keys = Array.from({ length: KEYS_PER_WRITE }, (_, i) => `w${w}-r${round}-${i}`);
        const body = JSON.stringify(keys.map((key) => ({ key, value: { w, round } })));
        const r = await rawRequest(server, "POST", `/collections/${name}`, owner, body);
        statuses.push(r.status);
        expect(r.body?.upserted, r.text).toBe(KEYS_PER_WRITE);
        const at = performance.now();
        for (const key of keys) acked.set(key, at);
        await new Promise((r) => setTimeout(r, PAUSE_MS));
      }
    };

    const restPass = async (): Promise<Pass> => {
      const keys: string[] = [];
      let cursor: string | null = null;
      for (;;) {
        const sentAt = performance.now();
        const query = `limit=25${cursor ? `&cursor=${cursor}` : ""}`;
        const r = await rawRequest(server, "GET", `/collections/${name}?${query}`, viewer);
        statuses.push(r.status);
        keys.push(...r.body.results.map((i: { key: string }) => i.key));
        cursor = r.body.cursor;
        if (cursor === null) return { keys, lastSentAt: sentAt };
      }
    };
    const lightningPass = async (): Promise<Pass> => {
      const keys: string[] = [];
      let cursor: string | null = null;
      for (;;) {
        const sentAt = performance.now();
        const query = `limit=20${cursor ? `&cursor=${cursor}` : ""}`;
        const r = await rawRequest(server, "GET", `/lightning/collections/${name}?${query}`, viewer);
        statuses.push(r.status);
        keys.push(...r.body.items.map((i: { key: string }) => i.key));
        cursor = r.body.cursor;
        if (cursor === null) return { keys, lastSentAt: sentAt };
      }
    };
    const streamPass = async (): Promise<Pass> => {
      const sentAt = performance.now();
      const r = await rawRequest(server, "GET", `/collections/${name}`, viewer);
      statuses.push(r.status);
      return { keys: r.body.results.map((i: { key: string }) => i.key), lastSentAt: sentAt };
    };

    const problems: string[] = [];
    let passes = 0;
    const check = (kind: string, pass: Pass) => {
      passes++;
      const seen = new Set<string>();
      for (const key of pass.keys) {
        if (seen.has(key)) problems.push(`${kind}: ${key} repeated`);
        seen.add(key);
        if (!acked.has(key) && writersDone) problems.push(`${kind}: ${key} was never written`);
      }
      for (const [key, at] of acked) {
        if (at < pass.lastSentAt && !seen.has(key)) problems.push(`${kind}: ${key} skipped`);
      }
    };
    const reader = async (kind: string, pass: () => Promise<Pass>) => {
      while (!writersDone) check(kind, await pass());
      check(kind, await pass()); // after the writers: every key, once
    };

    const readers = [
      reader("rest", restPass),
      reader("rest", restPass),
      reader("lightning", lightningPass),
      reader("stream", streamPass),
    ];
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    writersDone = true;
    await Promise.all(readers);

    expect(statuses.filter((s) => s !== 200 && s !== 201)).toEqual([]);
    expect(problems.slice(0, 20)).toEqual([]);
    console.log(`${acked.size} keys written, ${passes} passes`);
    expect(passes).toBeGreaterThan(8);
    const final = await restPass();
    expect(final.keys.length).toBe(acked.size);
    expect(new Set(final.keys)).toEqual(new Set(acked.keys()));
  });
});

import http from "node:http";
import type pg from "pg";
import { itemKey, itemValueJson } from "../lib/data.js";
import { request } from "../lib/http.js";
import { cpuMs } from "../lib/processes.js";
import { ms } from "../lib/stats.js";

// Scenario 1: bulk upsert, 1,000 items per POST, N new keys then N updates of the same keys, with 1 and
// with 4 concurrent clients; the baseline sends the same rows through pg, one unnest statement per 1,000.

export const CHUNK = 1000;

export interface UpsertData {
  /** Per chunk: the keys and the value JSON texts of each round (1 = insert, 2 = update). */
  chunks: { keys: string[]; values: Record<1 | 2, string[]>; bodies: Record<1 | 2, string> }[];
  count: number;
}

export function upsertData(count: number): UpsertData {
  const chunks: UpsertData["chunks"] = [];
  for (let from = 1; from <= count; from += CHUNK) {
    const keys: string[] = [];
    const values: Record<1 | 2, string[]> = { 1: [], 2: [] };
    for (let i = from; i < from + CHUNK && i <= count; i++) {
      keys.push(itemKey(i));
      values[1].push(itemValueJson(i, 1));
      values[2].push(itemValueJson(i, 2));
    }
    const body = (round: 1 | 2) =>
      `[${keys.map((k, j) => `{"key":${JSON.stringify(k)},"value":${values[round][j]}}`).join(",")}]`;
    chunks.push({ keys, values, bodies: { 1: body(1), 2: body(2) } });
  }
  return { chunks, count };
}

export interface UpsertFigures {
  clients: number;
  /** Collections written: 1 (the issue's scenario), or one per client (writers of different collections take no common lock). */
  collections: number;
  insertItemsPerSec: number;
  updateItemsPerSec: number;
  /** All items (insert + update rounds) over the time of both rounds. */
  itemsPerSec: number;
  /** CPU time of the service process per request of 1,000 items (ms); absent for the baseline. */
  cpuMsPerRequest?: number;
}

/** Runs `clients` workers over the chunks of one round; returns the elapsed ms. */
async function round(
  data: UpsertData,
  clients: number,
  send: (chunk: number, worker: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async (_, worker) => {
      for (let c = next++; c < data.chunks.length; c = next++) await send(c, worker);
    }),
  );
  return ms(started);
}

function figures(
  data: UpsertData,
  clients: number,
  collections: number,
  insertMs: number,
  updateMs: number,
): UpsertFigures {
  return {
    clients,
    collections,
    insertItemsPerSec: data.count / (insertMs / 1000),
    updateItemsPerSec: data.count / (updateMs / 1000),
    itemsPerSec: (2 * data.count) / ((insertMs + updateMs) / 1000),
  };
}

/**
 * Chunk c of the data always goes to the same collection, collections[c % n], so that the update round
 * updates what the insert round created (with one collection per client, each gets a share of the keys).
 */
export async function upsertThroughService(
  baseUrl: string,
  pid: number,
  token: string,
  collections: string[],
  data: UpsertData,
  clients: number,
): Promise<UpsertFigures> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const cpuBefore = cpuMs(pid);
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const timed: Record<1 | 2, number> = { 1: 0, 2: 0 };
  try {
    for (const r of [1, 2] as const) {
      timed[r] = await round(data, clients, async (c) => {
        const url = `${baseUrl}/collections/${collections[c % collections.length]}`;
        const answer = await request(agent, url, "POST", headers, data.chunks[c]!.bodies[r]);
        const expected = r === 1 ? 201 : 200;
        if (answer.status !== expected)
          throw new Error(
            `upsert answered ${answer.status} (expected ${expected}): ${answer.body.slice(0, 300)}`,
          );
      });
    }
  } finally {
    agent.destroy();
  }
  return {
    ...figures(data, clients, collections.length, timed[1], timed[2]),
    cpuMsPerRequest: (cpuMs(pid) - cpuBefore) / (2 * data.chunks.length),
  };
}

const baselineSql = `
  INSERT INTO items (collection_id, key, value, created, updated)
  SELECT $1::uuid, t.k, t.v, now(), now() FROM unnest($2::text[], $3::text[]) AS t(k, v)
  ON CONFLICT (collection_id, key) DO UPDATE SET value = EXCLUDED.value, updated = EXCLUDED.updated`;

export async function upsertThroughPg(
  pool: pg.Pool,
  collectionIds: string[],
  data: UpsertData,
  clients: number,
): Promise<UpsertFigures> {
  const timed: Record<1 | 2, number> = { 1: 0, 2: 0 };
  for (const r of [1, 2] as const) {
    timed[r] = await round(data, clients, async (c) => {
      const chunk = data.chunks[c]!;
      const result = await pool.query(baselineSql, [
        collectionIds[c % collectionIds.length],
        chunk.keys,
        chunk.values[r],
      ]);
      if (result.rowCount !== chunk.keys.length)
        throw new Error(`baseline upsert wrote ${result.rowCount} rows`);
    });
  }
  return figures(data, clients, collectionIds.length, timed[1], timed[2]);
}

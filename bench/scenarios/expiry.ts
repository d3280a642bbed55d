import type pg from "pg";
import { sweepOnce, sweepSettings, type SweepSettings } from "../../server/services/sweep.js";
import { poolSql } from "../../server/sql.js";
import { itemValueSql } from "../lib/data.js";
import { ms } from "../lib/stats.js";
import { upsertThroughService, type UpsertData, type UpsertFigures } from "./upsert.js";

// SPEC §9.2, issue 14: "100k expiring items do not slow writers measurably". The upsert scenario's
// writes (N new keys, then N updates, 1,000 items per POST) into a collection that also holds 100,000
// other items: once with items that do not expire (quiet), once with items that have all just expired
// while the expiry sweep (server/services/sweep.ts, the statements `npm start` runs every
// EXPIRY_SWEEP_INTERVAL_MS) removes them, batch after batch, for as long as the writers write. The
// figure is the writers' items/s with the sweep over without; the sweep's own pace is reported beside it.

export interface ExpiryFigures {
  /** Items that expire (and are swept) in the sweeping runs; the quiet runs hold as many that do not. */
  expiring: number;
  clients: number;
  /** The sweep's rest after each statement, as a multiple of its time (SWEEP_REST_FACTOR unless overridden). */
  restFactor: number;
  /** Writers' items/s (both rounds) with nothing to sweep. */
  quiet: UpsertFigures;
  /** Writers' items/s while the sweep runs. */
  sweeping: UpsertFigures;
  /** Items the sweep made tombstones while the writers ran. */
  sweptWhileWriting: number;
  /** Time the sweep took for all of them (it starts with the writers). */
  sweepMs: number;
  /** sweeping / quiet items/s of each run (the median run is reported). */
  runRatios: number[];
}

/** Adds `count` items (keys `exp-…`) to a collection, expired a second ago or never expiring. */
async function fillOthers(pool: pg.Pool, collectionId: string, count: number, expired: boolean) {
  for (let from = 1; from <= count; from += 50_000) {
    const to = Math.min(count, from + 49_999);
    await pool.query(
      `INSERT INTO items (collection_id, key, value, created, updated, version, expires)
       SELECT $1::uuid, 'exp-' || lpad(g.i::text, 7, '0'), ${itemValueSql("g.i")}, now(), now(), nextval('item_versions'),
              CASE WHEN $4::boolean THEN now() - interval '1 second' END
       FROM generate_series($2::int, $3::int) AS g(i) ORDER BY g.i`,
      [collectionId, from, to, expired],
    );
  }
  await pool.query("ANALYZE items");
}

export async function expiryScenario(
  pool: pg.Pool,
  service: { url: string; pid: number; token: string },
  collection: (name: string) => Promise<string>,
  data: UpsertData,
  options: { expiring: number; clients: number; runs: number; batch: number },
  step: (text: string) => void,
): Promise<ExpiryFigures> {
  // The sweep's statements through a pool of their own on the same database (embedded: the service's socket).
  const sql = poolSql(pool, { prepare: false });
  // The settings `npm start` sweeps with (its pace included), with BENCH_SWEEP_REST_FACTOR to compare paces.
  const settings: SweepSettings = {
    ...sweepSettings({ EXPIRY_SWEEP_BATCH: options.batch, CHANGES_RETENTION_HOURS: 168 }),
    ...(process.env.BENCH_SWEEP_REST_FACTOR
      ? { restFactor: Number(process.env.BENCH_SWEEP_REST_FACTOR) }
      : {}),
  };
  const runs: Omit<ExpiryFigures, "runRatios" | "expiring" | "clients" | "restFactor">[] = [];
  for (let run = 1; run <= options.runs; run++) {
    const label = `expiry run ${run}/${options.runs}`;
    const quietName = `exp-quiet-r${run}`;
    const quietId = await collection(quietName);
    await fillOthers(pool, quietId, options.expiring, false);
    step(`${label}: ${data.count} upserts + updates beside ${options.expiring} items that do not expire`);
    const quiet = await upsertThroughService(
      service.url,
      service.pid,
      service.token,
      [quietName],
      data,
      options.clients,
    );

    const sweptName = `exp-swept-r${run}`;
    const sweptId = await collection(sweptName);
    await fillOthers(pool, sweptId, options.expiring, true);
    step(`${label}: the same beside ${options.expiring} expired items, swept meanwhile`);
    let swept = 0;
    const counters = { expired: (n: number) => (swept += n), purged: () => {}, pruned: () => {} };
    const sweepStarted = process.hrtime.bigint();
    const sweeping = (async () => {
      while (swept < options.expiring) {
        const counts = await sweepOnce(sql, settings, undefined, counters);
        if (counts.expired === 0) break;
      }
      return ms(sweepStarted);
    })();
    const writers = await upsertThroughService(
      service.url,
      service.pid,
      service.token,
      [sweptName],
      data,
      options.clients,
    );
    const sweptWhileWriting = swept;
    const sweepMs = await sweeping;
    if (swept !== options.expiring)
      throw new Error(`the sweep removed ${swept} of ${options.expiring} expired items`);
    runs.push({ quiet, sweeping: writers, sweptWhileWriting, sweepMs });
    step(
      `${label}: ${Math.round(quiet.itemsPerSec)} items/s quiet, ${Math.round(writers.itemsPerSec)} while sweeping ` +
        `(${sweptWhileWriting} swept meanwhile; all ${swept} in ${Math.round(sweepMs)} ms)`,
    );
    await pool.query("DELETE FROM collections WHERE id = ANY($1::uuid[])", [[quietId, sweptId]]);
  }
  const ratioOf = (r: (typeof runs)[number]) => r.sweeping.itemsPerSec / r.quiet.itemsPerSec;
  const median = [...runs].sort((a, b) => ratioOf(a) - ratioOf(b))[Math.floor(runs.length / 2)]!;
  return {
    expiring: options.expiring,
    clients: options.clients,
    restFactor: settings.restFactor ?? 0,
    ...median,
    runRatios: runs.map(ratioOf),
  };
}

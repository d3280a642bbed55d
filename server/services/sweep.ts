import { Prisma } from "../generated/prisma/client.js";
import type { Sql } from "../db.js";
import type { Env } from "../env.js";
import type { Logger } from "../log.js";
import { errorFields } from "../log.js";
import type { SweepCounters } from "../observability/metrics.js";
import { liveSql, tombstoneCtes } from "./items.js";

// The background sweep (SPEC §9.2, §9.3): expired items become tombstones, tombstones go once no reader
// or writer can need them, and the change log loses what is older than CHANGES_RETENTION_HOURS.
//
// Reads never wait for it: an expired item is invisible from the instant it expires (liveSql), swept or
// not. Every step is one short statement (its own transaction) over at most EXPIRY_SWEEP_BATCH rows,
// which takes only row locks nobody holds (SKIP LOCKED) and waits for none: a writer of a key waits at
// most for one such statement, and a sweep never waits for a writer. Several instances may sweep one
// database at once: each skips what another holds. The server runs it (server/main.ts), never the CLI.

/** How long a tombstone stays at least (beyond the position rule of purgeTombstones). */
export const TOMBSTONE_GRACE_MS = 60_000;

/**
 * After each statement the background sweep rests this many times as long as the statement took, so
 * that it works at most a quarter of the time however busy the database is: removing expired items is
 * never urgent (they are invisible already), the writers' throughput is (bench/scenarios/expiry.ts).
 */
export const SWEEP_REST_FACTOR = 3;

export interface SweepSettings {
  /** Rows per statement. */
  batch: number;
  /** Changes logged longer ago than this are pruned. */
  retentionMs: number;
  /** Tombstones younger than this are kept (TOMBSTONE_GRACE_MS). */
  tombstoneGraceMs: number;
  /** A rest after each statement, as a multiple of the time it took (SWEEP_REST_FACTOR); 0 or none: no rest. */
  restFactor?: number;
}

export interface SweepCounts {
  /** Expired items made tombstones (and logged as `expire` changes). */
  expired: number;
  /** Tombstones removed. */
  purged: number;
  /** Change log rows removed. */
  pruned: number;
}

export function sweepSettings(
  env: Pick<Env, "EXPIRY_SWEEP_BATCH" | "CHANGES_RETENTION_HOURS">,
): SweepSettings {
  return {
    batch: env.EXPIRY_SWEEP_BATCH,
    retentionMs: env.CHANGES_RETENTION_HOURS * 3_600_000,
    tombstoneGraceMs: TOMBSTONE_GRACE_MS,
    restFactor: SWEEP_REST_FACTOR,
  };
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
function rest(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The oldest transaction id still running (this statement's snapshot): no position below it can appear any more. */
const horizon = Prisma.sql`pg_snapshot_xmin(pg_current_snapshot())::text::bigint`;

/**
 * Makes up to `batch` expired items tombstones, of any collections, as a delete does (server/services/
 * items.ts, tombstoneCtes): value null, expires = now, a new version, the position rule (xid raised to
 * the row's when that is greater, the version drawn after the lock), and one `expire` change each.
 *
 * The candidates are the earliest expiries (the index on expires). Their collections are held first
 * (FOR KEY SHARE SKIP LOCKED: one being deleted is skipped, and its deletion waits for this statement
 * rather than the two waiting on each other); then the rows, in key order per collection as writers lock
 * them, skipping those a writer holds. The conditions are checked again on the locked rows: a key written
 * again meanwhile is live and stays untouched. Returns how many were tombstoned.
 */
export async function expireItems(sql: Sql, batch: number): Promise<number> {
  const [row] = await sql.query<{ expired: number }>(Prisma.sql`
    WITH cand AS MATERIALIZED (
           SELECT collection_id, key FROM items
           WHERE expires <= clock_timestamp() AND value IS NOT NULL
           ORDER BY expires LIMIT ${batch}),
         colls AS MATERIALIZED (
           SELECT id FROM collections WHERE id IN (SELECT collection_id FROM cand)
           ORDER BY id FOR KEY SHARE SKIP LOCKED),
         held AS MATERIALIZED (
           SELECT i.collection_id, i.key FROM items i
           JOIN cand ON cand.collection_id = i.collection_id AND cand.key = i.key
           WHERE i.collection_id IN (SELECT id FROM colls) AND i.value IS NOT NULL AND NOT ${liveSql("i")}
           ORDER BY i.collection_id, i.key COLLATE "C"
           FOR NO KEY UPDATE OF i SKIP LOCKED),
         ${tombstoneCtes("expire")}
    SELECT (SELECT count(*) FROM gone)::int AS expired`);
  return row!.expired;
}

/**
 * Removes up to `batch` tombstones (of deletes and expiries) older than `graceMs` whose position is
 * below every running transaction: whoever writes the key next has a later transaction id, so its
 * change still comes after the tombstone's (the reason tombstones exist, server/services/items.ts).
 * Rows someone holds are skipped, and so are the collections being deleted (held as in expireItems: the
 * counters' trigger may need their key). Returns how many were removed.
 */
export async function purgeTombstones(sql: Sql, batch: number, graceMs: number): Promise<number> {
  const [row] = await sql.query<{ purged: number }>(Prisma.sql`
    WITH cand AS MATERIALIZED (
           SELECT collection_id, key FROM items
           WHERE expires < clock_timestamp() - ${graceMs}::float8 * interval '1 millisecond'
             AND value IS NULL AND xid < ${horizon}
           ORDER BY expires LIMIT ${batch}),
         colls AS MATERIALIZED (
           SELECT id FROM collections WHERE id IN (SELECT collection_id FROM cand)
           ORDER BY id FOR KEY SHARE SKIP LOCKED),
         picked AS MATERIALIZED (
           SELECT i.collection_id, i.key FROM items i
           JOIN cand ON cand.collection_id = i.collection_id AND cand.key = i.key
           WHERE i.collection_id IN (SELECT id FROM colls) AND i.value IS NULL
           FOR UPDATE OF i SKIP LOCKED),
         gone AS (
           DELETE FROM items i USING picked
           WHERE i.collection_id = picked.collection_id AND i.key = picked.key AND i.value IS NULL
           RETURNING 1)
    SELECT (SELECT count(*) FROM gone)::int AS purged`);
  return row!.purged;
}

/**
 * Prunes up to `batch` changes older than `retentionMs` from the change log, and raises each affected
 * collection's floor (changes_floor_xid/version) to the greatest position it pruned, so that a feed
 * cursor at or above the floor has lost nothing (SPEC §9.3: below it, 410).
 *
 * What goes is a prefix of each collection's log in position order: the positions up to P, the greatest
 * position among the oldest `batch` changes past retention (so a change logged later with a smaller
 * position goes too; one with a greater position stays). Only positions below every running transaction
 * count, so no change can appear below the floor afterwards. The collections are held first (FOR NO KEY
 * UPDATE SKIP LOCKED: writers only take a key share there and are not stopped; another sweep skips them;
 * a collection being deleted is skipped). Floors are only ever raised. Returns how many changes went.
 */
export async function pruneChanges(sql: Sql, batch: number, retentionMs: number): Promise<number> {
  const [row] = await sql.query<{ pruned: number }>(Prisma.sql`
    WITH old AS MATERIALIZED (
           SELECT collection_id, xid, version FROM item_changes
           WHERE at < clock_timestamp() - ${retentionMs}::float8 * interval '1 millisecond' AND xid < ${horizon}
           ORDER BY at LIMIT ${batch}),
         colls AS MATERIALIZED (
           SELECT id FROM collections WHERE id IN (SELECT collection_id FROM old)
           ORDER BY id FOR NO KEY UPDATE SKIP LOCKED),
         bounds AS MATERIALIZED (
           SELECT DISTINCT ON (collection_id) collection_id, xid, version FROM old
           WHERE collection_id IN (SELECT id FROM colls)
           ORDER BY collection_id, xid DESC, version DESC),
         doomed AS MATERIALIZED (
           SELECT c.collection_id, c.xid, c.version FROM bounds b
           JOIN item_changes c ON c.collection_id = b.collection_id AND (c.xid, c.version) <= (b.xid, b.version)
           ORDER BY c.collection_id, c.xid, c.version LIMIT ${batch}),
         gone AS MATERIALIZED (
           DELETE FROM item_changes c USING doomed d
           WHERE c.collection_id = d.collection_id AND c.xid = d.xid AND c.version = d.version
           RETURNING c.collection_id, c.xid, c.version),
         tops AS MATERIALIZED (
           SELECT DISTINCT ON (collection_id) collection_id, xid, version FROM gone
           ORDER BY collection_id, xid DESC, version DESC),
         raised AS (
           UPDATE collections c SET changes_floor_xid = t.xid, changes_floor_version = t.version
           FROM tops t
           WHERE c.id = t.collection_id AND (t.xid, t.version) > (c.changes_floor_xid, c.changes_floor_version)
           RETURNING c.id)
    SELECT (SELECT count(*) FROM gone)::int AS pruned`);
  return row!.pruned;
}

/**
 * One sweep round: expiries, then tombstones, then the change log, each in statements of `batch` rows
 * for as long as a statement finds a full batch, resting after each that did work (`restFactor`). Stops
 * between statements once `signal` is aborted.
 */
export async function sweepOnce(
  sql: Sql,
  settings: SweepSettings,
  signal?: AbortSignal,
  counters?: SweepCounters,
): Promise<SweepCounts> {
  const counts: SweepCounts = { expired: 0, purged: 0, pruned: 0 };
  const steps: [keyof SweepCounts, () => Promise<number>][] = [
    ["expired", () => expireItems(sql, settings.batch)],
    ["purged", () => purgeTombstones(sql, settings.batch, settings.tombstoneGraceMs)],
    ["pruned", () => pruneChanges(sql, settings.batch, settings.retentionMs)],
  ];
  for (const [what, step] of steps) {
    for (;;) {
      if (signal?.aborted) return counts;
      const started = performance.now();
      const n = await step();
      counts[what] += n;
      counters?.[what](n);
      if (n > 0) await rest((performance.now() - started) * (settings.restFactor ?? 0), signal);
      if (n < settings.batch) break;
    }
  }
  return counts;
}

export interface Sweeper {
  /** Stops after the statement running now (if any); resolves once none of the sweep's statements runs. */
  stop(): Promise<void>;
}

export interface SweeperDeps {
  sql: Sql;
  log: Logger;
  counters?: SweepCounters;
}

/**
 * Runs sweepOnce every `intervalMs` (after each round ends, so rounds never overlap on one instance),
 * logging one line per round that did something; a failed round is logged and the next one tries again.
 * `intervalMs` 0: no sweep (undefined).
 */
export function startSweeper(
  deps: SweeperDeps,
  intervalMs: number,
  settings: SweepSettings,
): Sweeper | undefined {
  if (intervalMs <= 0) return undefined;
  const { sql, log, counters } = deps;
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();

  const run = async () => {
    const started = performance.now();
    try {
      const counts = await sweepOnce(sql, settings, stopping.signal, counters);
      if (counts.expired || counts.purged || counts.pruned) {
        log.info("expiry sweep", { ...counts, duration_ms: Math.round(performance.now() - started) });
      }
    } catch (e) {
      if (!stopping.signal.aborted)
        log.warn("expiry sweep failed; the next round tries again", errorFields(e));
    }
  };
  const schedule = () => {
    if (stopping.signal.aborted) return;
    timer = setTimeout(() => {
      round = run().then(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await round;
    },
  };
}

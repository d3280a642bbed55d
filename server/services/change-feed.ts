import { setTimeout as sleep } from "node:timers/promises";
import { AppError, changesExpired, invalidParameter } from "../errors.js";
import { resolveCollection, type ResolvedCollection } from "./access.js";
import {
  decodeFeedCursor,
  encodeFeedCursor,
  feedFingerprint,
  FEED_ORIGIN,
  readChanges,
  readHorizon,
  type ChangeBatch,
  type ChangeRow,
  type FeedPosition,
} from "./changes.js";
import type { CollectionRef, ItemCaller } from "./item-operations.js";
import { patternProblem } from "./patterns.js";

// The change feed of SPEC §9.3 as one operation, shared by the REST routes (server/http/items-changes.ts:
// SSE and long-poll) and the tRPC subscription items.changes: which collection (read permission), which
// key pattern, where it starts, and how it is followed.

export interface ChangesRequest extends CollectionRef {
  /** A key pattern (SPEC §3.5); undefined: every key. */
  key?: string;
  /** Where to start: a cursor of this feed, or `0` (what retention holds); undefined: now. */
  since?: string;
  /**
   * The cursor of the last event the client received (SSE `Last-Event-ID`, tRPC `lastEventId`): resumes
   * just after it, and takes precedence over `since` (a reconnecting EventSource sends both).
   */
  lastEventId?: { cursor: string; param: string };
}

export interface ChangeFeed {
  collection: ResolvedCollection;
  /** The cursor of where the feed started (a client that reconnects before any event resumes there). */
  startCursor: string;
  /** The cursor of the feed's position: after every change read so far. */
  cursor(): string;
  /** The cursor of one change (its event id): resuming with it continues just after that change. */
  cursorOf(change: ChangeRow): string;
  /**
   * The next batch after the feed's position, bounded by rows and bytes; advances the position. Throws
   * CHANGES_EXPIRED (410) when the position is below the collection's retention floor (the start is
   * checked by the first read: `since=0` starts at the floor).
   */
  read(bounds?: { rows?: number; bytes?: number }): Promise<ChangeBatch>;
}

/**
 * Opens a feed: checks the key pattern and the cursor (400 naming `since` or the resume parameter),
 * resolves the collection for reading, and fixes the start: the cursor's position, the origin for `0`, or
 * now, the horizon read at this moment. Changes of transactions still running then (and of transactions
 * newer than the oldest one still running) may come in the feed; no change committed later is left out.
 */
export async function openChangeFeed(caller: ItemCaller, req: ChangesRequest): Promise<ChangeFeed> {
  const { env, sql } = caller;
  if (req.key !== undefined) {
    const problem = patternProblem(req.key, env.MAX_PATTERN_LENGTH);
    if (problem) throw invalidParameter("key", problem);
  }
  const collection = await resolveCollection(sql, caller.principal, req.name, req.project_id, "read");
  const fingerprint = feedFingerprint(collection.id, req.key);
  const given =
    req.lastEventId ?? (req.since !== undefined ? { cursor: req.since, param: "since" } : undefined);
  let position: FeedPosition;
  if (given) {
    try {
      position = decodeFeedCursor(given.cursor, fingerprint);
    } catch (e) {
      throw invalidParameter(given.param, (e as Error).message);
    }
  } else {
    position = await readHorizon(sql);
  }
  // From the origin the first read starts at the retention floor, whatever it is.
  let fromOrigin = position === FEED_ORIGIN;
  const startCursor = fromOrigin ? "0" : encodeFeedCursor(position, fingerprint);
  return {
    collection,
    startCursor,
    cursor: () => encodeFeedCursor(position, fingerprint),
    cursorOf: (change) => encodeFeedCursor({ xid: change.xid, version: change.version }, fingerprint),
    async read(bounds = {}) {
      const batch = await readChanges(sql, collection.id, req.key, position, {
        rows: bounds.rows ?? env.STREAM_BATCH_SIZE,
        bytes: bounds.bytes ?? env.STREAM_BATCH_BYTES,
      });
      if (batch.expired && !fromOrigin) throw changesExpired(given?.param ?? "since");
      fromOrigin = false;
      position = batch.position;
      caller.counters?.read(batch.changes.length);
      return batch;
    },
  };
}

/** Why following a feed ended. */
export type FollowEnd = "aborted" | "stopping" | "gone" | "expired";

export interface FollowOptions {
  /** The pause between reads when the feed has caught up (CHANGES_POLL_MS). */
  pollMs: number;
  /** Aborted when the client goes away: no further read. */
  signal: AbortSignal;
  /** True once this instance is shutting down: the feed ends, its client resumes elsewhere. */
  stopping(): boolean;
}

/**
 * Follows an open feed from `first` (its first batch, read before the answer started): yields each batch
 * read (an empty one after each pause of a feed that has caught up: a moment for a heartbeat), until the
 * client goes away, the server stops, the collection is deleted, or the feed's position falls below the
 * retention floor.
 */
export async function* followChangeFeed(
  feed: ChangeFeed,
  first: ChangeBatch,
  options: FollowOptions,
): AsyncGenerator<ChangeRow[], FollowEnd, void> {
  let batch = first;
  for (;;) {
    yield batch.changes;
    if (options.signal.aborted) return "aborted";
    if (options.stopping()) return "stopping";
    if (batch.gone) return "gone";
    if (!batch.more) {
      await pause(options.pollMs, options.signal);
      if (options.signal.aborted) return "aborted";
    }
    try {
      batch = await feed.read();
    } catch (e) {
      if (e instanceof AppError && e.code === "CHANGES_EXPIRED") return "expired";
      throw e;
    }
  }
}

/** Waits `ms`, or until the signal aborts. */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => {});
}

/**
 * A change as JSON text, its value apart (the stored text, inserted as is, never re-encoded; a large one is
 * written without a copy). put: `{key, value, version, updated}`; delete and expire: `{key, version, at}`,
 * and `expired: true` for an expiry. With `id`, the long-poll form: `kind` ("put" or "delete") and `id`
 * first.
 */
export function changeJsonPieces(change: ChangeRow, id?: string): string[] {
  const head = id === undefined ? "{" : `{"kind":"${change.kind === "put" ? "put" : "delete"}","id":"${id}",`;
  const key = JSON.stringify(change.key);
  if (change.kind === "put")
    return [
      `${head}"key":${key},"value":`,
      change.value!,
      `,"version":${change.version},"updated":"${change.at}"}`,
    ];
  const expired = change.kind === "expire" ? `,"expired":true` : "";
  return [`${head}"key":${key},"version":${change.version},"at":"${change.at}"${expired}}`];
}

import type { TimeDialect } from "../../contracts/instants.js";
import type { Action, Principal } from "../auth/principal.js";
import type { Sql } from "../db.js";
import type { Env } from "../env.js";
import type { ItemCounters } from "../observability/metrics.js";
import { AppError, invalidParameter } from "../errors.js";
import { lookaheadItem, resolveCollection, type ResolvedCollection } from "./access.js";
import {
  decodeCursor,
  decodeLightningCursor,
  encodeCursor,
  encodeLightningCursor,
  queryFingerprint,
} from "./cursor.js";
import {
  deleteItem,
  deleteItemsBatches,
  getItem,
  itemAsStream,
  streamItems,
  upsertItems,
  type ItemFilter,
  type ItemRow,
  type NewItem,
  type StreamEnd,
} from "./items.js";
import { keyMatch, keyProblem, patternProblem } from "./patterns.js";
import { timeRanges, type TimeParams } from "./time-filters.js";

// The item operations of SPEC §3 and §5, once: which collection, which permission, which limits, which
// filter. The tRPC procedures (server/routers/items.ts), the REST routes (server/http/items-*.ts) and the
// Lightning dialect (server/http/lightning-*.ts) only translate parameters in and bytes out.

/** Who asks, and with what: the database, the limits and the authenticated principal. */
export interface ItemCaller {
  sql: Sql;
  env: Env;
  principal: Principal;
  /** Items read, written and deleted, for /metrics (server/observability/metrics.ts). */
  counters?: ItemCounters;
}

/** `batches` as they come, each batch's length counted. */
async function* counted<T, R>(
  batches: AsyncGenerator<T[], R, void>,
  count: ((n: number) => void) | undefined,
): AsyncGenerator<T[], R, void> {
  if (!count) return yield* batches;
  try {
    let next = await batches.next();
    while (!next.done) {
      count(next.value.length);
      yield next.value;
      next = await batches.next();
    }
    return next.value;
  } finally {
    await batches.return(undefined as never);
  }
}

/** The collection a request names (SPEC §2: a name among the caller's, narrowed by project_id). */
export interface CollectionRef {
  name: string;
  project_id?: string;
}

const invalid = invalidParameter;

/** What deleting by a pattern needs (SPEC §2): every item (no pattern, or one made only of `*`) is "deleteAll". */
export function deleteAction(pattern: string | undefined): Action {
  return keyMatch(pattern).kind === "all" ? "deleteAll" : "write";
}

function filterOf(
  env: Env,
  pattern: string | undefined,
  params: TimeParams,
  dialect: TimeDialect,
): ItemFilter {
  if (pattern !== undefined) {
    const problem = patternProblem(pattern, env.MAX_PATTERN_LENGTH);
    if (problem) throw invalid("key", problem);
  }
  return { pattern, ...timeRanges(params, dialect) };
}

function checkExactKey(env: Env, key: string): void {
  const problem = keyProblem(key, env.MAX_KEY_LENGTH);
  if (problem) throw invalid("key", problem.includes("at most") ? `${problem} (MAX_KEY_LENGTH)` : problem);
}

const resolve = (caller: ItemCaller, ref: CollectionRef, action: Action) =>
  resolveCollection(caller.sql, caller.principal, ref.name, ref.project_id, action);

// ---------------------------------------------------------------------------------------------- reads

export interface FetchRequest extends CollectionRef, TimeParams {
  key?: string;
  limit?: number;
  offset?: number;
  cursor?: string;
  meta?: boolean;
}

/** How much one answer may hold when the caller does not say: the surface's page. */
export interface PageRules {
  /** `limit` when the request gives none (undefined: everything that matches). */
  defaultLimit?: number;
  /** Value bytes of the answer (at least one item); the answer then ends with a cursor. */
  maxBytes?: number;
}

export interface FetchPlan {
  collection: ResolvedCollection;
  /** Where this page starts (offset, or the position stored in the cursor). */
  startOffset: number;
  meta: boolean;
  /** The matching items from the plan's position, in batches bounded by rows and bytes (streamItems). */
  stream(signal: AbortSignal | undefined): AsyncGenerator<ItemRow[], StreamEnd, void>;
  /** The cursor to return, given how the stream ended (null on the last page). */
  nextCursor(end: StreamEnd): string | null;
}

/**
 * A fetch (SPEC §3.1, §5): resolves the collection for reading, checks the limits and the cursor (400
 * naming the parameter), and plans the stream. `dialect` picks the time-filter reading and the cursor format.
 */
export async function planFetch(
  caller: ItemCaller,
  req: FetchRequest,
  dialect: TimeDialect,
  page: PageRules = {},
): Promise<FetchPlan> {
  const { env, principal, sql } = caller;
  if (req.cursor !== undefined && req.offset !== undefined)
    throw invalid("cursor", "cursor and offset are mutually exclusive");
  if (req.offset !== undefined && req.offset > env.MAX_OFFSET) {
    throw invalid(
      "offset",
      `must be at most ${env.MAX_OFFSET} (MAX_OFFSET); page further with the cursor of a previous answer`,
    );
  }
  if (req.limit !== undefined && env.MAX_RESULT_LIMIT !== undefined && req.limit > env.MAX_RESULT_LIMIT) {
    throw invalid("limit", `must be at most ${env.MAX_RESULT_LIMIT} (MAX_RESULT_LIMIT)`);
  }
  const limit =
    req.limit ??
    (page.defaultLimit === undefined
      ? undefined
      : Math.min(page.defaultLimit, env.MAX_RESULT_LIMIT ?? Infinity));
  const filter = filterOf(env, req.key, req, dialect);
  const collection = await resolve(caller, req, "read");
  // Computed only when a cursor is read or written (a digest per request shows in a point read's profile).
  const fingerprint = () => queryFingerprint([collection.id, filter]);
  let afterSeq: string | undefined;
  let startOffset = req.offset ?? 0;
  if (req.cursor !== undefined) {
    try {
      if (dialect === "lightning") afterSeq = decodeLightningCursor(req.cursor);
      else ({ afterSeq, offset: startOffset } = decodeCursor(req.cursor, fingerprint()));
    } catch (e) {
      throw invalid("cursor", (e as Error).message);
    }
  }
  // A plain read of one exact key whose item was read with the token: no other statement.
  const plain =
    keyMatch(filter.pattern).kind === "exact" &&
    !filter.created &&
    !filter.updated &&
    afterSeq === undefined &&
    !req.offset;
  const prefetched = plain ? lookaheadItem(principal, collection.id, filter.pattern!) : undefined;
  return {
    collection,
    startOffset,
    meta: req.meta ?? false,
    stream: (signal) =>
      counted(
        prefetched !== undefined
          ? itemAsStream(prefetched)
          : streamItems(sql, collection.id, filter, {
              afterSeq,
              offset: req.offset,
              limit,
              maxBytes: page.maxBytes,
              batchSize: env.STREAM_BATCH_SIZE,
              batchBytes: env.STREAM_BATCH_BYTES,
              signal,
            }),
        caller.counters?.read,
      ),
    nextCursor(end) {
      if (!end.hasMore || end.lastSeq === null) return null;
      return dialect === "lightning"
        ? encodeLightningCursor(end.lastSeq)
        : encodeCursor({ afterSeq: end.lastSeq, offset: startOffset + end.count }, fingerprint());
    },
  };
}

/** One item by exact key (a `*` in it is literal), or null: Lightning's `GET /{name}/{key}`. */
export async function readItem(caller: ItemCaller, ref: CollectionRef, key: string): Promise<ItemRow | null> {
  checkExactKey(caller.env, key);
  const collection = await resolve(caller, ref, "read");
  const ahead = lookaheadItem(caller.principal, collection.id, key);
  const row = ahead !== undefined ? ahead : await getItem(caller.sql, collection.id, key);
  if (row) caller.counters?.read(1);
  return row;
}

// --------------------------------------------------------------------------------------------- writes

export interface ItemError {
  index: number;
  key: string | null;
  message: string;
}

/** The items of a write request, and each one's value as exact JSON text. */
export interface UpsertSource {
  items: unknown[];
  /** The JSON text of an item's value as received; undefined when it has none, null when nested too deep. */
  valueText(item: object): string | null | undefined;
}

export interface UpsertResult {
  /** 201 when a key was created, 200 otherwise, 422 when nothing was written because of invalid items. */
  status: 200 | 201 | 422;
  upserted: number;
  errors: ItemError[];
  /** Some key was given twice (Lightning's answer names that case). */
  duplicateKey: boolean;
}

const DUPLICATE = "key is repeated within the request; none of its items was written";

/**
 * An upsert (SPEC §3.2, §5): resolves the collection for writing before anything of the body is read
 * (`read` is called after), validates every item, and writes the valid ones in one transaction.
 * `allOrNothing` (Lightning) writes nothing when any item is invalid.
 */
export async function upsert(
  caller: ItemCaller,
  ref: CollectionRef,
  read: () => Promise<UpsertSource>,
  options: { allOrNothing?: boolean } = {},
): Promise<UpsertResult> {
  const collection = await resolve(caller, ref, "write");
  const { valid, errors } = validateUpsertItems(caller.env, await read());
  const duplicateKey = errors.some((e) => e.message === DUPLICATE);
  if (valid.length === 0 || (options.allOrNothing && errors.length > 0)) {
    return { status: errors.length ? 422 : 200, upserted: 0, errors, duplicateKey };
  }
  const outcome = await upsertItems(caller.sql, collection.id, valid);
  caller.counters?.written(outcome.written);
  return { status: outcome.created > 0 ? 201 : 200, upserted: outcome.written, errors, duplicateKey };
}

/** Splits upsert items into valid ones and per-item errors (SPEC §3.2). A key given twice is rejected at every index. */
export function validateUpsertItems(
  env: Env,
  source: UpsertSource,
): { valid: NewItem[]; errors: ItemError[] } {
  const { items } = source;
  if (items.length > env.MAX_ITEMS_PER_REQUEST) {
    throw new AppError(
      "PAYLOAD_TOO_LARGE",
      `The request has ${items.length} items; at most ${env.MAX_ITEMS_PER_REQUEST} are allowed per request (MAX_ITEMS_PER_REQUEST)`,
    );
  }
  const errors: ItemError[] = [];
  const candidates: { index: number; item: NewItem }[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      errors.push({ index, key: null, message: "an item must be an object with a key and a value" });
      return;
    }
    const { key } = item as { key?: unknown };
    if (typeof key !== "string") {
      errors.push({
        index,
        key: null,
        message: key === undefined ? "key is missing" : "key must be a string",
      });
      return;
    }
    const problem = keyProblem(key, env.MAX_KEY_LENGTH);
    if (problem) {
      errors.push({
        index,
        key,
        message: problem.includes("at most") ? `${problem} (MAX_KEY_LENGTH)` : problem,
      });
      return;
    }
    const valueJson = source.valueText(item);
    if (valueJson === undefined) {
      errors.push({ index, key, message: "value is missing" });
      return;
    }
    if (valueJson === null) {
      errors.push({
        index,
        key,
        message: `value is nested more than ${env.MAX_JSON_DEPTH} levels deep (MAX_JSON_DEPTH)`,
      });
      return;
    }
    if (valueJson.length > env.MAX_VALUE_CHARS) {
      errors.push({
        index,
        key,
        message: `value has ${valueJson.length} characters once serialized; at most ${env.MAX_VALUE_CHARS} are allowed (MAX_VALUE_CHARS)`,
      });
      return;
    }
    seen.set(key, (seen.get(key) ?? 0) + 1);
    candidates.push({ index, item: { key, valueJson } });
  });
  const valid: NewItem[] = [];
  for (const c of candidates) {
    if (seen.get(c.item.key)! > 1) errors.push({ index: c.index, key: c.item.key, message: DUPLICATE });
    else valid.push(c.item);
  }
  errors.sort((a, b) => a.index - b.index);
  return { valid, errors };
}

// -------------------------------------------------------------------------------------------- deletes

export interface DeleteRequest extends CollectionRef, TimeParams {
  /** A key pattern; undefined deletes every item (as does a pattern made only of `*`). */
  key?: string;
}

export interface DeletePlan {
  collection: ResolvedCollection;
  /** Deletes in batches of DELETE_BATCH_SIZE, yielding each batch's keys; stops before the next batch once aborted. */
  batches(signal?: AbortSignal): AsyncGenerator<string[], { count: number; aborted: boolean }, void>;
}

/**
 * A delete by pattern (SPEC §3.3, §5): checks the filter, resolves the collection with the action the
 * pattern needs (every item: admins only), and plans the batches. Nothing is deleted before `batches` runs.
 */
export async function planDelete(
  caller: ItemCaller,
  req: DeleteRequest,
  dialect: TimeDialect,
): Promise<DeletePlan> {
  const filter = filterOf(caller.env, req.key, req, dialect);
  const collection = await resolve(caller, req, deleteAction(req.key));
  return {
    collection,
    batches: (signal) =>
      counted(
        deleteItemsBatches(caller.sql, collection.id, filter, {
          batchSize: caller.env.DELETE_BATCH_SIZE,
          signal,
        }),
        caller.counters?.deleted,
      ),
  };
}

/** Deletes one item by exact key (a `*` in it is literal): Lightning's `DELETE /{name}/{key}`. True when it existed. */
export async function deleteOne(caller: ItemCaller, ref: CollectionRef, key: string): Promise<boolean> {
  checkExactKey(caller.env, key);
  const collection = await resolve(caller, ref, "write");
  const deleted = await deleteItem(caller.sql, collection.id, key);
  if (deleted) caller.counters?.deleted(1);
  return deleted;
}

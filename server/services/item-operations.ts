import type { TimeDialect } from "../../contracts/instants.js";
import type { Action, Principal } from "../auth/principal.js";
import type { Sql } from "../db.js";
import type { Env } from "../env.js";
import type { ItemCounters } from "../observability/metrics.js";
import { AppError, invalidParameter, preconditionFailed, tooManyAffected } from "../errors.js";
import { lookaheadItem, resolveCollection, type ResolvedCollection } from "./access.js";
import { copyItemTexts } from "./item-copy.js";
import {
  decodeCursor,
  decodeLightningCursor,
  encodeCursor,
  encodeLightningCursor,
  type Keyset,
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
import { countItems, deleteAtMost } from "./item-count.js";
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
  /** SPEC §9.5: the keys alone, no value read (not with `meta`). */
  keys_only?: boolean;
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
  /** Only the rows' keys are meant (their value is "": not read). */
  keysOnly: boolean;
  /**
   * One item by exact key, without time filters, offset or cursor (SPEC §9.1): the answer is that item's
   * (or nothing), and its version is the answer's ETag.
   */
  single: boolean;
  /**
   * `single`'s item when the token check already read it (null: there is none), counted as read when
   * returned here; undefined when it must be read through `stream`. Its answer needs no stream.
   */
  item(): ItemRow | null | undefined;
  /**
   * The matching items from the plan's position, in batches bounded by rows and bytes (streamItems);
   * with `wire`, rows carry their JSON text built by the database (ItemRow.wire), but those of `single`.
   */
  stream(
    signal: AbortSignal | undefined,
    options?: { wire?: boolean },
  ): AsyncGenerator<ItemRow[], StreamEnd, void>;
  /**
   * The same items as `stream` framed as JSON by batches (`separator` between items), read with COPY:
   * present only where that is possible and gives the same answer (a PostgreSQL server, the whole
   * collection from its start without filters, limit or byte budget, values as stored).
   */
  copy?(
    signal: AbortSignal | undefined,
    framing: { separator: string; after?: string },
  ): AsyncGenerator<(Buffer | Buffer[])[], StreamEnd, void>;
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
  if (req.keys_only && req.meta)
    throw invalid("keys_only", "keys_only and meta cannot both be true (keys_only reads no values)");
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
  let after: Keyset | undefined;
  let startOffset = req.offset ?? 0;
  if (req.cursor !== undefined) {
    try {
      if (dialect === "lightning") after = decodeLightningCursor(req.cursor);
      else ({ keyset: after, offset: startOffset } = decodeCursor(req.cursor, fingerprint()));
    } catch (e) {
      throw invalid("cursor", (e as Error).message);
    }
  }
  // A plain read of one exact key whose item was read with the token: no other statement.
  const plain =
    keyMatch(filter.pattern).kind === "exact" &&
    !filter.created &&
    !filter.updated &&
    after === undefined &&
    !req.offset;
  const prefetched = plain ? lookaheadItem(principal, collection.id, filter.pattern!) : undefined;
  return {
    collection,
    startOffset,
    meta: req.meta ?? false,
    keysOnly: req.keys_only ?? false,
    single: plain,
    item() {
      if (prefetched !== undefined && prefetched !== null) caller.counters?.read?.(1);
      return prefetched;
    },
    stream: (signal, options) =>
      counted(
        prefetched !== undefined
          ? itemAsStream(prefetched)
          : streamItems(sql, collection.id, filter, {
              after,
              offset: req.offset,
              limit,
              maxBytes: page.maxBytes,
              batchSize: env.STREAM_BATCH_SIZE,
              batchBytes: env.STREAM_BATCH_BYTES,
              signal,
              keysOnly: req.keys_only,
              wire: options?.wire,
            }),
        caller.counters?.read,
      ),
    ...(sql.copyOut &&
    prefetched === undefined &&
    filter.pattern === undefined &&
    !filter.created &&
    !filter.updated &&
    after === undefined &&
    !req.offset &&
    limit === undefined &&
    page.maxBytes === undefined &&
    !req.keys_only &&
    !req.meta
      ? {
          copy: (signal: AbortSignal | undefined, framing: { separator: string; after?: string }) =>
            copyItemTexts(sql, collection.id, {
              rows: env.STREAM_BATCH_SIZE * COPY_STATEMENT_FACTOR,
              statementBytes: env.STREAM_BATCH_BYTES * COPY_STATEMENT_FACTOR,
              pieceBytes: COPY_PIECE_BYTES,
              ...framing,
              signal,
              onItems: caller.counters?.read,
            }),
        }
      : {}),
    nextCursor(end) {
      if (!end.hasMore || end.next === null) return null;
      return dialect === "lightning"
        ? encodeLightningCursor(end.next)
        : encodeCursor({ keyset: end.next, offset: startOffset + end.count }, fingerprint());
    },
  };
}

/**
 * A COPY statement reads up to this many times STREAM_BATCH_SIZE items and about as many times
 * STREAM_BATCH_BYTES: its rows are framed as they arrive (its memory is a piece's, COPY_PIECE_BYTES),
 * and each statement costs a round trip and a plan, during which nothing is sent.
 */
const COPY_STATEMENT_FACTOR = 4;
const COPY_PIECE_BYTES = 256 * 1024;

/** How many items match a key pattern and time filters (SPEC §9.5), read as a GET would be; no value is read. */
export async function countMatching(
  caller: ItemCaller,
  req: CollectionRef & TimeParams & { key?: string },
): Promise<number> {
  const filter = filterOf(caller.env, req.key, req, "rest");
  const collection = await resolve(caller, req, "read");
  return countItems(caller.sql, collection.id, filter);
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
  /** SPEC §9.1: a condition (if_version / if_absent) that did not hold. */
  code?: "VERSION_MISMATCH";
  /** With VERSION_MISMATCH: the item's current version, or null when it does not exist. */
  current_version?: number | null;
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

/** The per-item error of a condition that did not hold (SPEC §9.1). */
export function versionMismatch(index: number, key: string, current: string | null): ItemError {
  return {
    index,
    key,
    code: "VERSION_MISMATCH",
    current_version: current === null ? null : Number(current),
    message:
      current === null
        ? "the condition did not hold: the item does not exist"
        : `the condition did not hold: the item's current version is ${current}`,
  };
}

/** The largest ttl_seconds (about 100 years): an expiry must stay within PostgreSQL's timestamps. */
export const MAX_TTL_SECONDS = 3_153_600_000;

/** A positive integer as a JSON number or a string of decimal digits (a version), as a decimal string. */
function versionText(v: unknown): string | undefined {
  if (typeof v === "number" && Number.isSafeInteger(v) && v > 0) return String(v);
  if (typeof v === "string" && /^[1-9]\d{0,18}$/.test(v) && BigInt(v) <= 9_223_372_036_854_775_807n) return v;
  return undefined;
}

/**
 * An item's write options (SPEC §9.1, §9.2): if_version, if_absent, ttl_seconds, expires_at; or the
 * message naming the one that is malformed. Properties not named here are ignored (SPEC §3.2).
 */
export function itemOptions(
  item: Record<string, unknown>,
): Pick<NewItem, "ifVersion" | "ifAbsent" | "ttlSeconds" | "expiresAt"> | string {
  const out: Pick<NewItem, "ifVersion" | "ifAbsent" | "ttlSeconds" | "expiresAt"> = {};
  const { if_version, if_absent, ttl_seconds, expires_at } = item;
  if (if_version !== undefined && if_version !== null) {
    const v = versionText(if_version);
    if (v === undefined) return "if_version must be a positive integer (a version returned by the service)";
    out.ifVersion = v;
  }
  if (if_absent !== undefined && if_absent !== null && if_absent !== false) {
    if (if_absent !== true) return "if_absent must be true or false";
    out.ifAbsent = true;
  }
  if (out.ifVersion !== undefined && out.ifAbsent) return "if_version and if_absent cannot be given together";
  if (ttl_seconds !== undefined && ttl_seconds !== null) {
    if (
      typeof ttl_seconds !== "number" ||
      !Number.isInteger(ttl_seconds) ||
      ttl_seconds < 1 ||
      ttl_seconds > MAX_TTL_SECONDS
    )
      return `ttl_seconds must be an integer from 1 to ${MAX_TTL_SECONDS}`;
    out.ttlSeconds = ttl_seconds;
  }
  if (expires_at !== undefined && expires_at !== null) {
    if (out.ttlSeconds !== undefined) return "ttl_seconds and expires_at cannot be given together";
    const at = typeof expires_at === "string" ? expiryInstant(expires_at) : undefined;
    if (at === undefined)
      return "expires_at must be an ISO 8601 date-time with a time zone (e.g. 2030-01-01T00:00:00Z), within 100 years";
    out.expiresAt = at;
  }
  return out;
}

/** An ISO 8601 date-time with an offset or Z, as an ISO UTC string; undefined when it is not one or is beyond 100 years. */
export function expiryInstant(text: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || ms > Date.now() + MAX_TTL_SECONDS * 1000) return undefined;
  // The microseconds PostgreSQL keeps are taken from the text itself (Date keeps milliseconds).
  return text;
}

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
  const outcome = await upsertItems(
    caller.sql,
    collection.id,
    valid.map((v) => v.item),
  );
  caller.counters?.written(outcome.written);
  if (outcome.failed.length > 0) {
    for (const f of outcome.failed) errors.push(versionMismatch(valid[f.index]!.index, f.key, f.current));
    errors.sort((a, b) => a.index - b.index);
  }
  const status = outcome.written === 0 && errors.length > 0 ? 422 : outcome.created > 0 ? 201 : 200;
  return { status, upserted: outcome.written, errors, duplicateKey };
}

/** Splits upsert items into valid ones and per-item errors (SPEC §3.2). A key given twice is rejected at every index. */
export function validateUpsertItems(
  env: Env,
  source: UpsertSource,
): { valid: { index: number; item: NewItem }[]; errors: ItemError[] } {
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
    const options = itemOptions(item as Record<string, unknown>);
    if (typeof options === "string") {
      errors.push({ index, key, message: options });
      return;
    }
    seen.set(key, (seen.get(key) ?? 0) + 1);
    candidates.push({ index, item: { key, valueJson, ...options } });
  });
  const valid: { index: number; item: NewItem }[] = [];
  for (const c of candidates) {
    if (seen.get(c.item.key)! > 1) errors.push({ index: c.index, key: c.item.key, message: DUPLICATE });
    else valid.push(c);
  }
  errors.sort((a, b) => a.index - b.index);
  return { valid, errors };
}

// ------------------------------------------------------------------------------- one item (SPEC §9.1)

/**
 * The condition of a single-item write or delete (SPEC §9.1): the item exists at this version (If-Match:
 * "v", if_version), exists at all (If-Match: *), or does not exist (If-None-Match: *, if_absent).
 */
export type WriteCondition = { ifVersion: string } | { ifExists: true } | { ifAbsent: true };

/** The condition of a tRPC input's `if_version` / `if_absent` (400 naming them when both are given). */
export function conditionOf(input: { if_version?: number; if_absent?: boolean }): WriteCondition | undefined {
  if (input.if_version !== undefined && input.if_absent)
    throw invalid("if_absent", "if_version and if_absent cannot be given together");
  if (input.if_version !== undefined) {
    const v = versionText(input.if_version);
    if (v === undefined)
      throw invalid("if_version", "must be a positive integer (a version returned by the service)");
    return { ifVersion: v };
  }
  return input.if_absent ? { ifAbsent: true } : undefined;
}

export interface PutRequest extends CollectionRef {
  key: string;
  condition?: WriteCondition;
  ttl_seconds?: number;
  expires_at?: string;
}

/** What a PUT wrote (SPEC §9.1): the item's new version and timestamps. */
export interface PutAnswer {
  key: string;
  version: number;
  created: string;
  updated: string;
  /** SPEC §9.2: when the item expires (ISO UTC), or null. */
  expires: string | null;
}

export interface PutResult {
  /** 201 when the key was created (or had expired, or been deleted), 200 when it was updated. */
  status: 200 | 201;
  item: PutAnswer;
}

/**
 * Writes one item (REST `PUT /collections/{name}/{key}`, tRPC items.put; SPEC §9.1): the key is exact
 * (a `*` is the character), the collection is resolved for writing before `read` gives the value's JSON
 * text (undefined: none was given; null: nested deeper than MAX_JSON_DEPTH). The one item is the whole
 * request, so a value over MAX_VALUE_CHARS refuses it as too large (413), as a body over MAX_BODY_BYTES
 * does. A condition that does not hold is PRECONDITION_FAILED (412) with the current version; nothing is
 * written then.
 */
export async function putItem(
  caller: ItemCaller,
  req: PutRequest,
  read: () => Promise<string | null | undefined>,
): Promise<PutResult> {
  const { env, sql } = caller;
  checkExactKey(env, req.key);
  const options = itemOptions({ ttl_seconds: req.ttl_seconds, expires_at: req.expires_at });
  // The message begins with the parameter it is about (itemOptions).
  if (typeof options === "string") throw invalid(options.split(" ")[0]!, options);
  const collection = await resolve(caller, req, "write");
  const valueJson = await read();
  if (valueJson === undefined) throw invalid("value", "a value (any JSON value) is required");
  if (valueJson === null)
    throw invalid("value", `nested more than ${env.MAX_JSON_DEPTH} levels deep (MAX_JSON_DEPTH)`);
  if (valueJson.length > env.MAX_VALUE_CHARS) {
    throw new AppError(
      "PAYLOAD_TOO_LARGE",
      `The value has ${valueJson.length} characters once serialized; at most ${env.MAX_VALUE_CHARS} are allowed (MAX_VALUE_CHARS)`,
    );
  }
  const condition = req.condition;
  for (;;) {
    // If-Match: * is "at the version it has now": a concurrent write in between fails it, and it is tried again.
    let ifVersion = condition && "ifVersion" in condition ? condition.ifVersion : undefined;
    if (condition && "ifExists" in condition) {
      const current = await getItem(sql, collection.id, req.key);
      if (!current) throw preconditionFailed(null);
      ifVersion = current.version;
    }
    const item: NewItem = { key: req.key, valueJson, ...options, ifVersion };
    if (condition && "ifAbsent" in condition) item.ifAbsent = true;
    const outcome = await upsertItems(sql, collection.id, [item], { rows: true });
    const failed = outcome.failed[0];
    if (failed) {
      if (condition && "ifExists" in condition && failed.current !== null) continue;
      throw preconditionFailed(failed.current);
    }
    caller.counters?.written(1);
    const row = outcome.rows![0]!;
    return {
      status: row.isNew ? 201 : 200,
      item: {
        key: row.key,
        version: Number(row.version),
        created: row.created,
        updated: row.updated,
        expires: row.expires,
      },
    };
  }
}

// -------------------------------------------------------------------------------------------- deletes

export interface DeleteRequest extends CollectionRef, TimeParams {
  /** A key pattern; undefined deletes every item (as does a pattern made only of `*`). */
  key?: string;
  /** SPEC §9.5: list what would be deleted (the same keys, in the same order) and delete nothing. */
  dry_run?: boolean;
  /** SPEC §9.5: delete only when at most this many items match; TOO_MANY_AFFECTED (nothing deleted) otherwise. */
  max_affected?: number;
}

export interface DeletePlan {
  collection: ResolvedCollection;
  /** Deletes in batches of DELETE_BATCH_SIZE, yielding each batch's keys; stops before the next batch once aborted. */
  batches(signal?: AbortSignal): AsyncGenerator<string[], { count: number; aborted: boolean }, void>;
}

/**
 * A delete by pattern (SPEC §3.3, §5): checks the filter, resolves the collection with the action the
 * pattern needs (every item: admins only), and plans the batches. Nothing is deleted before `batches` runs.
 * A dry run (SPEC §9.5) needs the same permission and lists the keys the delete would take, in its order;
 * `max_affected` makes the delete all or nothing (item-count.ts), its refusal thrown by the first batch.
 */
export async function planDelete(
  caller: ItemCaller,
  req: DeleteRequest,
  dialect: TimeDialect,
): Promise<DeletePlan> {
  const { env, sql } = caller;
  const max = req.max_affected;
  if (max !== undefined && max > env.MAX_AFFECTED_LIMIT)
    throw invalid("max_affected", `must be at most ${env.MAX_AFFECTED_LIMIT} (MAX_AFFECTED_LIMIT)`);
  const filter = filterOf(env, req.key, req, dialect);
  const collection = await resolve(caller, req, deleteAction(req.key));
  return {
    collection,
    batches: (signal) =>
      req.dry_run
        ? counted(wouldDelete(caller, collection.id, filter, max, signal), caller.counters?.read)
        : counted(
            max !== undefined
              ? deleteGuarded(caller, collection.id, filter, max, signal)
              : deleteItemsBatches(sql, collection.id, filter, { batchSize: env.DELETE_BATCH_SIZE, signal }),
            caller.counters?.deleted,
          ),
  };
}

/** A dry run: the keys of the matching items, read (without values) as the delete would take them. */
async function* wouldDelete(
  caller: ItemCaller,
  collectionId: string,
  filter: ItemFilter,
  max: number | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<string[], { count: number; aborted: boolean }, void> {
  const { env, sql } = caller;
  if (max !== undefined) {
    const count = await countItems(sql, collectionId, filter);
    if (count > max) throw tooManyAffected(count, max);
  }
  const rows = streamItems(sql, collectionId, filter, {
    keysOnly: true,
    batchSize: env.STREAM_BATCH_SIZE,
    batchBytes: env.STREAM_BATCH_BYTES,
    signal,
  });
  try {
    let next = await rows.next();
    while (!next.done) {
      yield next.value.map((row) => row.key);
      next = await rows.next();
    }
    return { count: next.value.count, aborted: next.value.aborted };
  } finally {
    await rows.return(undefined as never);
  }
}

/** A delete with max_affected: all of it committed before the first key is sent, or nothing. */
async function* deleteGuarded(
  caller: ItemCaller,
  collectionId: string,
  filter: ItemFilter,
  max: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<string[], { count: number; aborted: boolean }, void> {
  const keys = await deleteAtMost(caller.sql, collectionId, filter, max, caller.env.DELETE_BATCH_SIZE);
  const batch = caller.env.STREAM_BATCH_SIZE;
  for (let i = 0; i < keys.length; i += batch) {
    if (signal?.aborted) return { count: keys.length, aborted: true };
    yield keys.slice(i, i + batch);
  }
  return { count: keys.length, aborted: false };
}

/** Deletes one item by exact key (a `*` in it is literal): Lightning's `DELETE /{name}/{key}`. True when it existed. */
export async function deleteOne(caller: ItemCaller, ref: CollectionRef, key: string): Promise<boolean> {
  checkExactKey(caller.env, key);
  const collection = await resolve(caller, ref, "write");
  const { deleted } = await deleteItem(caller.sql, collection.id, key);
  if (deleted) caller.counters?.deleted(1);
  return deleted;
}

/**
 * A delete of one item on a condition (REST DELETE with If-Match, tRPC items.delete with if_version; SPEC
 * §9.1): the key must be exact and the request without dry_run, max_affected or time filters (otherwise
 * 400 naming `param`, the condition's name on that surface). Deletes it, or throws PRECONDITION_FAILED
 * (412) with the current version when the condition does not hold (null: the item does not exist).
 */
export async function deleteOneIf(
  caller: ItemCaller,
  req: DeleteRequest,
  condition: { ifVersion: string } | { ifExists: true },
  param: string,
): Promise<{ keys: string[]; deleted: number }> {
  const { key } = req;
  if (key === undefined || keyMatch(key).kind !== "exact")
    throw invalid(param, "applies to one item: the key must be exact (without `*`)");
  const other = req.dry_run
    ? "dry_run"
    : (["max_affected", "created_after", "created_before", "updated_after", "updated_before"] as const).find(
        (p) => req[p] !== undefined,
      );
  if (other) throw invalid(param, `cannot be combined with ${other}`);
  checkExactKey(caller.env, key);
  const collection = await resolve(caller, req, "write");
  const ifVersion = "ifVersion" in condition ? condition.ifVersion : undefined;
  const { deleted, current } = await deleteItem(caller.sql, collection.id, key, ifVersion);
  if (!deleted) throw preconditionFailed(current);
  caller.counters?.deleted(1);
  return { keys: [key], deleted: 1 };
}

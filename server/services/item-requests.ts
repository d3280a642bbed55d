import type { Env } from "../env.js";
import type { Sql } from "../db.js";
import { AppError, badRequest } from "../errors.js";
import type { Principal } from "../auth/principal.js";
import { lookaheadItem, resolveCollection, type ResolvedCollection } from "./access.js";
import { decodeCursor, encodeCursor, queryFingerprint } from "./cursor.js";
import { itemAsStream, streamItems, upsertItems, type ItemFilter, type ItemRow, type NewItem, type StreamEnd } from "./items.js";
import { jsonDepth } from "./json-depth.js";
import { keyMatch, keyProblem, patternProblem } from "./patterns.js";
import { endOf, parsePreciseInstant, startOf, type TimeRange } from "./time-filters.js";

// From validated §3 parameters (contracts/items/*) to calls of the item store: shared by the REST
// routes and the tRPC procedures so that both answer alike.

export interface TimeParams {
  created_after?: string;
  created_before?: string;
  updated_after?: string;
  updated_before?: string;
}

const invalid = (param: string, message: string) => badRequest(`Invalid parameter "${param}": ${message}`, [{ path: param, message }]);

function range(params: TimeParams, field: "created" | "updated"): TimeRange | undefined {
  const out: TimeRange = {};
  for (const side of ["after", "before"] as const) {
    const name = `${field}_${side}` as const;
    const text = params[name];
    if (text === undefined) continue;
    try {
      const instant = parsePreciseInstant(text);
      out[side] = side === "after" ? startOf(instant) : endOf(instant);
    } catch (e) {
      throw invalid(name, (e as Error).message);
    }
  }
  return out.after || out.before ? out : undefined;
}

/** The §3 filter: key pattern plus the four time filters with start-of/end-of-precision bounds. */
export function filterFromParams(env: Env, key: string | undefined, params: TimeParams): ItemFilter {
  if (key !== undefined) {
    const problem = patternProblem(key, env.MAX_PATTERN_LENGTH);
    if (problem) throw invalid("key", problem);
  }
  return { pattern: key, created: range(params, "created"), updated: range(params, "updated") };
}

export interface FetchParams extends TimeParams {
  name: string;
  key?: string;
  limit?: number;
  offset?: number;
  cursor?: string;
  meta?: boolean;
  project_id?: string;
}

export interface FetchPlan {
  collection: ResolvedCollection;
  filter: ItemFilter;
  /** Where this page starts (offset, or the position stored in the cursor). */
  startOffset: number;
  meta: boolean;
  /** The cursor to return, given how the stream ended. */
  nextCursor(end: StreamEnd): string | null;
  /** The matching items from the plan's position, in batches of STREAM_BATCH_SIZE (streamItems). */
  stream(signal: AbortSignal | undefined): AsyncGenerator<ItemRow[], StreamEnd, void>;
}

/** Resolves the collection (read) and turns GET parameters into a stream plan; 400 names a bad parameter. */
export async function planFetch(sql: Sql, env: Env, principal: Principal, params: FetchParams): Promise<FetchPlan> {
  if (params.cursor !== undefined && params.offset !== undefined) throw invalid("cursor", "cursor and offset are mutually exclusive");
  const filter = filterFromParams(env, params.key, params);
  if (params.limit !== undefined && env.MAX_RESULT_LIMIT !== undefined && params.limit > env.MAX_RESULT_LIMIT) {
    throw invalid("limit", `must be at most ${env.MAX_RESULT_LIMIT} (MAX_RESULT_LIMIT)`);
  }
  const collection = await resolveCollection(sql, principal, params.name, params.project_id, "read");
  // Computed only when a cursor is read or written (a digest per request shows in a point read's profile).
  const fingerprint = () => queryFingerprint([collection.id, filter]);
  let afterSeq: string | undefined;
  let startOffset = params.offset ?? 0;
  if (params.cursor !== undefined) {
    try {
      const pos = decodeCursor(params.cursor, fingerprint());
      afterSeq = pos.afterSeq;
      startOffset = pos.offset;
    } catch (e) {
      throw invalid("cursor", (e as Error).message);
    }
  }
  // A plain read of one exact key whose item was read with the token: no other statement.
  const plain = keyMatch(filter.pattern).kind === "exact" && !filter.created && !filter.updated && afterSeq === undefined && !params.offset;
  const prefetched = plain ? lookaheadItem(principal, collection.id, filter.pattern!) : undefined;
  return {
    collection,
    filter,
    startOffset,
    meta: params.meta ?? false,
    stream: (signal) =>
      prefetched !== undefined
        ? itemAsStream(prefetched)
        : streamItems(sql, collection.id, filter, { afterSeq, offset: params.offset, limit: params.limit, batchSize: env.STREAM_BATCH_SIZE, signal }),
    nextCursor: (end) =>
      end.hasMore && end.lastSeq !== null ? encodeCursor({ afterSeq: end.lastSeq, offset: startOffset + end.count }, fingerprint()) : null,
  };
}

export interface ItemError {
  index: number;
  key: string | null;
  message: string;
}

/** The item array of an upsert body: a JSON array, or an object with the array under `items`. */
export function itemsOfBody(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (body && typeof body === "object" && Array.isArray((body as { items?: unknown }).items)) return (body as { items: unknown[] }).items;
  throw badRequest('The body must be a JSON array of {"key", "value"} objects, or an object {"items": [...]} with that array');
}

/** Splits upsert items into valid ones and per-item errors (SPEC §3.2). A key given twice is rejected at every index. */
export function validateUpsertItems(env: Env, items: unknown[]): { valid: NewItem[]; errors: ItemError[] } {
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
    const { key, value } = item as { key?: unknown; value?: unknown };
    if (typeof key !== "string") {
      errors.push({ index, key: null, message: key === undefined ? "key is missing" : "key must be a string" });
      return;
    }
    const problem = keyProblem(key, env.MAX_KEY_LENGTH);
    if (problem) {
      errors.push({ index, key, message: problem.includes("at most") ? `${problem} (MAX_KEY_LENGTH)` : problem });
      return;
    }
    if (!Object.hasOwn(item, "value") || value === undefined) {
      errors.push({ index, key, message: "value is missing" });
      return;
    }
    // The depth check first: JSON.stringify overflows the stack on values nested deep enough (tRPC hands them over parsed).
    const valueJson = serializedWithin(value, env.MAX_JSON_DEPTH);
    if (valueJson === null) {
      errors.push({ index, key, message: `value is nested more than ${env.MAX_JSON_DEPTH} levels deep (MAX_JSON_DEPTH)` });
      return;
    }
    if (valueJson.length > env.MAX_VALUE_CHARS) {
      errors.push({ index, key, message: `value has ${valueJson.length} characters once serialized; at most ${env.MAX_VALUE_CHARS} are allowed (MAX_VALUE_CHARS)` });
      return;
    }
    seen.set(key, (seen.get(key) ?? 0) + 1);
    candidates.push({ index, item: { key, valueJson } });
  });
  const valid: NewItem[] = [];
  for (const c of candidates) {
    if (seen.get(c.item.key)! > 1) errors.push({ index: c.index, key: c.item.key, message: "key is repeated within the request; none of its items was written" });
    else valid.push(c.item);
  }
  errors.sort((a, b) => a.index - b.index);
  return { valid, errors };
}

/** The value's JSON text, or null when it is nested deeper than maxDepth. */
function serializedWithin(value: unknown, maxDepth: number): string | null {
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
  // Each level of nesting takes two characters: shorter text cannot be too deep (no scan needed).
  if (text.length <= 2 * maxDepth) return text;
  return jsonDepth(text, maxDepth) > maxDepth ? null : text;
}

export interface UpsertAnswer {
  /** 201 when a new key was created, 200 otherwise, 422 when nothing in the request was valid. */
  status: 200 | 201 | 422;
  body: { upserted: number; errors: ItemError[] };
}

/** Validates and writes an upsert for a collection already resolved with the "write" action. */
export async function upsertRequest(sql: Sql, env: Env, collectionId: string, items: unknown[]): Promise<UpsertAnswer> {
  const { valid, errors } = validateUpsertItems(env, items);
  if (valid.length === 0) return { status: errors.length ? 422 : 200, body: { upserted: 0, errors } };
  const outcome = await upsertItems(sql, collectionId, valid);
  return { status: outcome.created > 0 ? 201 : 200, body: { upserted: outcome.written, errors } };
}

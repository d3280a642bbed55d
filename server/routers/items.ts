import * as itemChanges from "../../contracts/items/changes.js";
import * as countItems from "../../contracts/items/count-items.js";
import * as deleteItems from "../../contracts/items/delete-items.js";
import * as getItems from "../../contracts/items/get-items.js";
import * as getKeys from "../../contracts/items/get-keys.js";
import * as putItemContract from "../../contracts/items/put-item.js";
import type { Item } from "../../contracts/items/shared.js";
import * as upsertItems from "../../contracts/items/upsert-items.js";
import { AppError } from "../errors.js";
import { acquireStreamSlot } from "../http/stream-slots.js";
import {
  conditionOf,
  countMatching,
  deleteOneIf,
  planDelete,
  putItem,
  planFetch,
  upsert,
  type FetchPlan,
  type ItemCaller,
} from "../services/item-operations.js";
import { jsonTextOf } from "../services/json-text.js";
import { withMeta, type ItemRow } from "../services/items.js";
import type { Principal } from "../auth/principal.js";
import type { Context } from "../context.js";
import { authedProcedure } from "../trpc.js";
import { changesSubscription } from "./item-changes.js";

// The item operations of SPEC §3 as tRPC procedures (SPEC §4), over the same layer as the REST routes
// (server/http/items-*.ts) and the Lightning dialect. A procedure's answer is buffered, so each has a
// bounded page: items.get at most PAGE_DEFAULT_LIMIT items (without `limit`) and PAGE_MAX_BYTES of
// values, items.stream STREAM_DEFAULT_LIMIT items, items.delete MAX_LISTED_DELETED_KEYS listed keys.

const callerOf = (ctx: Context & { principal: Principal }): ItemCaller => ({
  sql: ctx.services.db.sql,
  env: ctx.services.env,
  principal: ctx.principal,
  counters: ctx.services.metrics.items,
});

/** A bounded page of a fetch plan (items.get, items.keys), each row as `map` makes it, with end_offset and cursor. */
async function onePage<T>(plan: FetchPlan, signal: AbortSignal | undefined, map: (row: ItemRow) => T) {
  const stream = plan.stream(signal);
  const results: T[] = [];
  let next = await stream.next();
  while (!next.done) {
    for (const row of next.value) results.push(map(row));
    next = await stream.next();
  }
  return { results, end_offset: plan.startOffset + next.value.count, cursor: plan.nextCursor(next.value) };
}

/**
 * items.stream sends a database batch (up to STREAM_BATCH_BYTES of values) as events of at most this many
 * key and value characters (or one item): tRPC writes each event as one JSON line built whole in memory,
 * and lines of a megabyte made one stream cost the service ~200 MiB of RSS (test/http/memory-trpc-stream).
 */
const STREAM_EVENT_CHARS = 64 * 1024;

/** The items of a batch, in events of at most STREAM_EVENT_CHARS (each converted when its event is sent). */
function* streamEvents(rows: ItemRow[], meta: boolean): Generator<Item[]> {
  let results: Item[] = [];
  let chars = 0;
  for (const row of rows) {
    const size = row.key.length + row.value.length;
    if (results.length > 0 && chars + size > STREAM_EVENT_CHARS) {
      yield results;
      results = [];
      chars = 0;
    }
    results.push(toItem(row, meta));
    chars += size;
  }
  if (results.length > 0) yield results;
}

function toItem(row: ItemRow, meta: boolean): Item {
  return {
    key: row.key,
    value: JSON.parse(meta ? withMeta(row.value, row.created, row.updated, row.version) : row.value),
    created: row.created,
    updated: row.updated,
    version: Number(row.version),
  };
}

// A plain record of procedures, not a router: its type carries no server context (client/app-router.ts).
export const itemsRouter = {
  /** One page: `limit` items (PAGE_DEFAULT_LIMIT without it), ending early past PAGE_MAX_BYTES; then `cursor`. */
  get: authedProcedure
    .input(getItems.input)
    .output(getItems.output)
    .query(async ({ ctx, input }) => {
      const { env } = ctx.services;
      const plan = await planFetch(callerOf(ctx), input, "rest", {
        defaultLimit: env.PAGE_DEFAULT_LIMIT,
        maxBytes: env.PAGE_MAX_BYTES,
      });
      return onePage(plan, ctx.signal, (row) => toItem(row, plan.meta));
    }),

  /**
   * `GET …?keys_only=true` (SPEC §9.5): one page of keys, no value read; bounded as items.get is (the
   * byte bound counts key bytes). A procedure of its own, so that items.get keeps one answer type.
   */
  keys: authedProcedure
    .input(getKeys.input)
    .output(getKeys.output)
    .query(async ({ ctx, input }) => {
      const { env } = ctx.services;
      const plan = await planFetch(callerOf(ctx), { ...input, keys_only: true }, "rest", {
        defaultLimit: env.PAGE_DEFAULT_LIMIT,
        maxBytes: env.PAGE_MAX_BYTES,
      });
      return onePage(plan, ctx.signal, (row) => row.key);
    }),

  /** `GET /collections/{name}/count` (SPEC §9.5): how many items match, no value read. */
  count: authedProcedure
    .meta(countItems.meta)
    .input(countItems.input)
    .output(countItems.output)
    .query(async ({ ctx, input }) => ({ count: await countMatching(callerOf(ctx), input) })),

  /**
   * The same query as an async iterable (consume with httpBatchStreamLink or httpSubscriptionLink):
   * `{type: "items", results}` per part of a database batch (STREAM_EVENT_CHARS), then
   * `{type: "end", end_offset, cursor}`; at most STREAM_DEFAULT_LIMIT items without `limit`.
   */
  stream: authedProcedure.input(getItems.input).query(async function* ({
    ctx,
    input,
    signal,
  }): AsyncGenerator<getItems.StreamEvent> {
    const releaseSlot = acquireStreamSlot(ctx.services, ctx.principal);
    try {
      const plan = await planFetch(callerOf(ctx), input, "rest", {
        defaultLimit: ctx.services.env.STREAM_DEFAULT_LIMIT,
      });
      const stream = plan.stream(signal ?? ctx.signal);
      let next = await stream.next();
      while (!next.done) {
        for (const results of streamEvents(next.value, plan.meta)) yield { type: "items", results };
        next = await stream.next();
      }
      if (!next.value.aborted)
        yield {
          type: "end",
          end_offset: plan.startOffset + next.value.count,
          cursor: plan.nextCursor(next.value),
        };
    } finally {
      releaseSlot();
    }
  }),

  /** Upsert; when no item is valid, fails with UNPROCESSABLE_CONTENT and one issue per item. */
  upsert: authedProcedure
    .input(upsertItems.input)
    .output(upsertItems.output)
    .mutation(async ({ ctx, input }) => {
      const { MAX_JSON_DEPTH } = ctx.services.env;
      const result = await upsert(callerOf(ctx), input, async () => ({
        items: input.items,
        // Values arrive parsed (tRPC's JSON): their text is what JSON.stringify gives.
        valueText: (item) =>
          Object.hasOwn(item, "value") && (item as { value?: unknown }).value !== undefined
            ? jsonTextOf((item as { value: unknown }).value, MAX_JSON_DEPTH)
            : undefined,
      }));
      if (result.status === 422) {
        throw new AppError(
          "UNPROCESSABLE_CONTENT",
          "No item of the request is valid; nothing was written",
          result.errors.map((e) => ({ path: `items.${e.index}`, message: e.message })),
        );
      }
      return { upserted: result.upserted, errors: result.errors };
    }),

  /**
   * One item, its value as given (SPEC §9.1; REST: the raw `PUT /collections/{name}/{key}`, so that the body
   * is the value, hence no OpenAPI meta here): `if_version` / `if_absent` make it conditional, and a condition
   * that does not hold fails with PRECONDITION_FAILED, `data.current_version` the item's version (null: none).
   */
  put: authedProcedure
    .input(putItemContract.input)
    .output(putItemContract.output)
    .mutation(async ({ ctx, input }) => {
      const { value, if_version, if_absent, ...req } = input;
      const condition = conditionOf({ if_version, if_absent });
      const { item } = await putItem(callerOf(ctx), { ...req, condition }, async () =>
        // The value arrives parsed (tRPC's JSON): its text is what JSON.stringify gives.
        value === undefined ? undefined : jsonTextOf(value, ctx.services.env.MAX_JSON_DEPTH),
      );
      return item;
    }),

  /**
   * Delete by key pattern (everything: admins only); lists at most MAX_LISTED_DELETED_KEYS of the deleted
   * keys. `dry_run` and `max_affected` as on REST (SPEC §9.5). With `if_version` (SPEC §9.1, REST's
   * If-Match), the one item of an exact key at that version, or PRECONDITION_FAILED with `data.current_version`.
   */
  delete: authedProcedure
    .input(deleteItems.input)
    .output(deleteItems.procedureOutput)
    .mutation(async ({ ctx, input }) => {
      if (input.if_version !== undefined) {
        const { if_version, ...req } = input;
        const done = await deleteOneIf(callerOf(ctx), req, { ifVersion: String(if_version) }, "if_version");
        return { ...done, keys_truncated: false };
      }
      const plan = await planDelete(callerOf(ctx), input, "rest");
      const max = ctx.services.env.MAX_LISTED_DELETED_KEYS;
      const keys: string[] = [];
      let next;
      const batches = plan.batches();
      for (next = await batches.next(); !next.done; next = await batches.next()) {
        for (const key of next.value) if (keys.length < max) keys.push(key);
      }
      return { keys, deleted: next.value.count, keys_truncated: next.value.count > keys.length };
    }),

  /**
   * The change feed (SPEC §9.3) as a subscription over SSE (httpSubscriptionLink): `ready`, then a message
   * per change, each tracked() with its cursor, so that a reconnect resumes just after the last one received.
   */
  changes: authedProcedure
    .input(itemChanges.input)
    .subscription(({ ctx, input, signal }) => changesSubscription(ctx, callerOf(ctx), input, signal)),
};

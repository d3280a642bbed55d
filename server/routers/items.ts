import * as deleteItems from "../../contracts/items/delete-items.js";
import * as getItems from "../../contracts/items/get-items.js";
import type { Item } from "../../contracts/items/shared.js";
import * as upsertItems from "../../contracts/items/upsert-items.js";
import { AppError } from "../errors.js";
import { acquireStreamSlot } from "../http/stream-slots.js";
import { planDelete, planFetch, upsert, type ItemCaller } from "../services/item-operations.js";
import { jsonTextOf } from "../services/json-text.js";
import { withMeta, type ItemRow } from "../services/items.js";
import type { Principal } from "../auth/principal.js";
import type { Context } from "../context.js";
import { authedProcedure } from "../trpc.js";

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

function toItem(row: ItemRow, meta: boolean): Item {
  return {
    key: row.key,
    value: JSON.parse(meta ? withMeta(row.value, row.created, row.updated) : row.value),
    created: row.created,
    updated: row.updated,
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
      const stream = plan.stream(ctx.signal);
      const results: Item[] = [];
      let next = await stream.next();
      while (!next.done) {
        for (const row of next.value) results.push(toItem(row, plan.meta));
        next = await stream.next();
      }
      return {
        results,
        end_offset: plan.startOffset + next.value.count,
        cursor: plan.nextCursor(next.value),
      };
    }),

  /**
   * The same query as an async iterable (consume with httpBatchStreamLink or httpSubscriptionLink):
   * `{type: "items", results}` per database batch, then `{type: "end", end_offset, cursor}`; at most
   * STREAM_DEFAULT_LIMIT items without `limit`.
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
        yield { type: "items", results: next.value.map((row) => toItem(row, plan.meta)) };
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

  /** Delete by key pattern (everything: admins only); lists at most MAX_LISTED_DELETED_KEYS of the deleted keys. */
  delete: authedProcedure
    .input(deleteItems.input)
    .output(deleteItems.procedureOutput)
    .mutation(async ({ ctx, input }) => {
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
};

import * as deleteItems from "../../contracts/items/delete-items.js";
import * as getItems from "../../contracts/items/get-items.js";
import type { Item } from "../../contracts/items/shared.js";
import * as upsertItems from "../../contracts/items/upsert-items.js";
import { AppError } from "../errors.js";
import { resolveCollection } from "../services/access.js";
import { filterFromParams, planFetch, upsertRequest } from "../services/item-requests.js";
import { deleteItemsBatches, withMeta, type ItemRow } from "../services/items.js";
import { authedProcedure, router } from "../trpc.js";
import type { Principal } from "../auth/principal.js";
import type { Services } from "../context.js";
import { acquireStreamSlot } from "../http/stream-slots.js";

// The item operations of SPEC §3 as tRPC procedures (SPEC §4). Their REST forms are the raw routes of
// server/http/items-*.ts, which share the contracts and the services.

function toItem(row: ItemRow, meta: boolean): Item {
  return {
    key: row.key,
    value: JSON.parse(meta ? withMeta(row.value, row.created, row.updated) : row.value),
    created: row.created,
    updated: row.updated,
  };
}

/** The events of items.stream: one per database batch, then the end (none when the client went away). */
async function* streamEvents(
  ctx: { services: Services; principal: Principal; signal?: AbortSignal },
  input: getItems.GetItemsParams,
  signal: AbortSignal | undefined,
): AsyncGenerator<getItems.StreamEvent> {
  const { sql } = ctx.services.db;
  const plan = await planFetch(sql, ctx.services.env, ctx.principal, input);
  const stream = plan.stream(signal ?? ctx.signal);
  let next = await stream.next();
  while (!next.done) {
    yield { type: "items", results: next.value.map((row) => toItem(row, plan.meta)) };
    next = await stream.next();
  }
  if (!next.value.aborted) {
    yield { type: "end", end_offset: plan.startOffset + next.value.count, cursor: plan.nextCursor(next.value) };
  }
}

export const itemsRouter = router({
  /** One page, buffered: for large collections use `limit`/`cursor`, or items.stream. */
  get: authedProcedure
    .input(getItems.input)
    .output(getItems.output)
    .query(async ({ ctx, input }) => {
      const { sql } = ctx.services.db;
      const plan = await planFetch(sql, ctx.services.env, ctx.principal, input);
      const stream = plan.stream(ctx.signal);
      const results: Item[] = [];
      let next = await stream.next();
      while (!next.done) {
        for (const row of next.value) results.push(toItem(row, plan.meta));
        next = await stream.next();
      }
      return { results, end_offset: plan.startOffset + next.value.count, cursor: plan.nextCursor(next.value) };
    }),

  /**
   * The same query as an async iterable (consume with httpBatchStreamLink or httpSubscriptionLink):
   * `{type: "items", results}` per database batch, then `{type: "end", end_offset, cursor}`.
   */
  stream: authedProcedure.input(getItems.input).query(async function* ({ ctx, input, signal }): AsyncGenerator<getItems.StreamEvent> {
    const releaseSlot = acquireStreamSlot(ctx.services, ctx.principal);
    try {
      yield* streamEvents(ctx, input, signal);
    } finally {
      releaseSlot();
    }
  }),

  /** Upsert; when no item is valid, fails with UNPROCESSABLE_CONTENT and one issue per item. */
  upsert: authedProcedure
    .input(upsertItems.input)
    .output(upsertItems.output)
    .mutation(async ({ ctx, input }) => {
      const { sql } = ctx.services.db;
      const collection = await resolveCollection(sql, ctx.principal, input.name, input.project_id, "write");
      const answer = await upsertRequest(sql, ctx.services.env, collection.id, input.items);
      if (answer.status === 422) {
        throw new AppError(
          "UNPROCESSABLE_CONTENT",
          "No item of the request is valid; nothing was written",
          answer.body.errors.map((e) => ({ path: `items.${e.index}`, message: e.message })),
        );
      }
      return answer.body;
    }),

  /** Delete by key pattern (or everything, with the deleteAll action), buffered keys. */
  delete: authedProcedure
    .input(deleteItems.input)
    .output(deleteItems.output)
    .mutation(async ({ ctx, input }) => {
      const { sql } = ctx.services.db;
      const filter = filterFromParams(ctx.services.env, input.key, input);
      const collection = await resolveCollection(sql, ctx.principal, input.name, input.project_id, input.key === undefined ? "deleteAll" : "write");
      const keys: string[] = [];
      for await (const batch of deleteItemsBatches(sql, collection.id, filter, { batchSize: ctx.services.env.DELETE_BATCH_SIZE })) {
        keys.push(...batch);
      }
      return { keys, deleted: keys.length };
    }),
});

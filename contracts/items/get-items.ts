import { z } from "zod";
import { countInput, decimalParam } from "../common.js";
import {
  itemSchema,
  keyPatternParam,
  nameParam,
  projectIdShape,
  queryFlag,
  rejectMetaWithKeysOnly,
  rejectOffsetWithCursor,
  timeFilterShape,
} from "./shared.js";

// GET /collections/{name}[/{key}] (SPEC §3.1): served by the raw stream handler (server/http/items-get.ts);
// the same schemas type the tRPC procedures items.get and items.stream.

const descriptions = {
  limit: { description: "At most this many items (positive integer)", example: 100 },
  offset: {
    description:
      "Skip this many matching items (non-negative integer, at most MAX_OFFSET); not with `cursor`",
    example: 0,
  },
  cursor: { description: "Continuation token from a previous response's `cursor`; not with `offset`" },
  meta: {
    description:
      "`true`/`1`: each object value gains `_meta: {created, updated}`; other values are unchanged",
    example: "true",
  },
  keys_only: {
    description:
      '`true`/`1`: `results` is an array of the matching keys (`["k1", …]`), in the same order, and no value is read; not with `meta=true`',
    example: "true",
  },
};

const cursorParam = z.string().min(1).max(200).optional().meta(descriptions.cursor);

/** The query string of the REST route: strings, with their coercion written here. Unknown parameters are rejected. */
export const queryShape = {
  ...timeFilterShape,
  limit: decimalParam("limit", 1).optional().meta(descriptions.limit),
  offset: decimalParam("offset", 0).optional().meta(descriptions.offset),
  cursor: cursorParam,
  meta: z
    .stringbool({
      truthy: ["true", "1"],
      falsy: ["false", "0"],
      case: "sensitive",
      error: "meta must be true, false, 1 or 0",
    })
    .optional()
    .meta(descriptions.meta),
  keys_only: queryFlag("keys_only").optional().meta(descriptions.keys_only),
  ...projectIdShape,
};

export const query = z
  .strictObject(queryShape)
  .superRefine(rejectOffsetWithCursor)
  .superRefine(rejectMetaWithKeysOnly);
export const pathParams = z.object({ name: nameParam, key: keyPatternParam });
export const collectionPathParams = z.object({ name: nameParam });

/** The fields of a tRPC read of a page (items.get, items.stream, items.keys), typed as values. */
export const pageInputShape = {
  name: nameParam,
  key: keyPatternParam.optional(),
  ...timeFilterShape,
  limit: countInput("limit", 1).optional().meta(descriptions.limit),
  offset: countInput("offset", 0).optional().meta(descriptions.offset),
  cursor: cursorParam,
  ...projectIdShape,
};

/** The tRPC input: the collection name, the optional key pattern, and the same parameters typed as values. */
export const input = z
  .strictObject({ ...pageInputShape, meta: z.boolean().optional().meta(descriptions.meta) })
  .superRefine(rejectOffsetWithCursor);
export type GetItemsInput = z.input<typeof input>;
export type GetItemsParams = z.output<typeof input>;

export const output = z
  .object({
    results: z.array(itemSchema),
    end_offset: z
      .number()
      .int()
      .meta({ description: "The offset just past the last returned item (offset + results.length)" }),
    cursor: z.string().nullable().meta({
      description: "Continuation token when `limit` stopped the results and more items match; otherwise null",
    }),
  })
  .meta({ id: "ItemPage" });
export type GetItemsOutput = z.infer<typeof output>;

/** The answer with `keys_only=true` (SPEC §9.5): the keys alone, in the same order, no value read. */
export const keyPage = z
  .object({
    results: z.array(z.string()).meta({ description: "The matching keys, in insertion order" }),
    end_offset: output.shape.end_offset,
    cursor: output.shape.cursor,
  })
  .meta({ id: "KeyPage" });
export type KeyPage = z.infer<typeof keyPage>;

/** One message of the streamed tRPC procedure items.stream: batches of items, then the end. */
export const streamEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("items"), results: z.array(itemSchema) }),
  z.object({ type: z.literal("end"), end_offset: z.number().int(), cursor: z.string().nullable() }),
]);
export type StreamEvent = z.infer<typeof streamEvent>;

import { z } from "zod";
import { itemSchema, keyPatternParam, nameParam, projectIdShape, rejectOffsetWithCursor, timeFilterShape } from "./shared.js";

// GET /collections/{name}[/{key}] (SPEC §3.1): served by the raw stream handler (server/http/items-get.ts);
// the same schemas type the tRPC procedures items.get and items.stream.

const positiveInt = (what: string, min: number) =>
  z.coerce
    .number<number | string>({ error: `${what} must be ${min === 1 ? "a positive" : "a non-negative"} integer` })
    .int(`${what} must be ${min === 1 ? "a positive" : "a non-negative"} integer`)
    .min(min, `${what} must be ${min === 1 ? "a positive" : "a non-negative"} integer`)
    .max(Number.MAX_SAFE_INTEGER, `${what} is too large`);

export const queryShape = {
  ...timeFilterShape,
  limit: positiveInt("limit", 1).optional().meta({ description: "At most this many items (positive integer)", example: 100 }),
  offset: positiveInt("offset", 0)
    .optional()
    .meta({ description: "Skip this many matching items (non-negative integer); not with `cursor`", example: 0 }),
  cursor: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .meta({ description: "Continuation token from a previous response's `cursor`; not with `offset`" }),
  meta: z
    .union([
      z.boolean(),
      z.stringbool({ truthy: ["true", "1"], falsy: ["false", "0"], case: "sensitive", error: "meta must be true, false, 1 or 0" }),
    ])
    .optional()
    .meta({ description: "`true`/`1`: each object value gains `_meta: {created, updated}`; other values are unchanged", example: "true" }),
  ...projectIdShape,
};

/** The query string of the REST route. Unknown parameters are rejected. */
export const query = z.strictObject(queryShape).superRefine(rejectOffsetWithCursor);
export const pathParams = z.object({ name: nameParam, key: keyPatternParam });
export const collectionPathParams = z.object({ name: nameParam });

/** The tRPC input: the same parameters plus the collection name and the optional key pattern. */
export const input = z.strictObject({ name: nameParam, key: keyPatternParam.optional(), ...queryShape }).superRefine(rejectOffsetWithCursor);
export type GetItemsInput = z.input<typeof input>;
export type GetItemsParams = z.output<typeof input>;

export const output = z
  .object({
    results: z.array(itemSchema),
    end_offset: z.number().int().meta({ description: "The offset just past the last returned item (offset + results.length)" }),
    cursor: z
      .string()
      .nullable()
      .meta({ description: "Continuation token when `limit` stopped the results and more items match; otherwise null" }),
  })
  .meta({ id: "ItemPage" });
export type GetItemsOutput = z.infer<typeof output>;

/** One message of the streamed tRPC procedure items.stream: batches of items, then the end. */
export const streamEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("items"), results: z.array(itemSchema) }),
  z.object({ type: z.literal("end"), end_offset: z.number().int(), cursor: z.string().nullable() }),
]);
export type StreamEvent = z.infer<typeof streamEvent>;

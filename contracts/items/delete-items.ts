import { z } from "zod";
import { keyPatternParam, nameParam, projectIdShape, timeFilterShape } from "./shared.js";

// DELETE /collections/{name}[/{key}] (SPEC §3.3): served by the raw stream handler.

export const query = z.strictObject({ ...timeFilterShape, ...projectIdShape });

export const input = z.strictObject({
  name: nameParam,
  key: keyPatternParam.optional(),
  ...timeFilterShape,
  ...projectIdShape,
});
export type DeleteItemsInput = z.input<typeof input>;

export const output = z
  .object({
    keys: z.array(z.string()).meta({ description: "The deleted keys, in insertion order" }),
    deleted: z.number().int().meta({ description: "How many items were deleted" }),
  })
  .meta({ id: "DeleteResult" });
export type DeleteItemsOutput = z.infer<typeof output>;

/**
 * The tRPC answer: the same count, with the deleted keys listed up to MAX_LISTED_DELETED_KEYS (a
 * procedure answer is buffered; the REST route streams every key).
 */
export const procedureOutput = output
  .extend({
    keys_truncated: z
      .boolean()
      .meta({ description: "True when more keys were deleted than `keys` lists (MAX_LISTED_DELETED_KEYS)" }),
  })
  .meta({ id: "DeleteProcedureResult" });
export type DeleteItemsProcedureOutput = z.infer<typeof procedureOutput>;

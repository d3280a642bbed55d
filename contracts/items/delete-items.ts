import { z } from "zod";
import { countInput, decimalParam } from "../common.js";
import { keyPatternParam, nameParam, projectIdShape, queryFlag, timeFilterShape } from "./shared.js";

// DELETE /collections/{name}[/{key}] (SPEC §3.3): served by the raw stream handler.

const descriptions = {
  dry_run: {
    description:
      "`true`/`1`: answer what would be deleted (the same keys, in the same order, and their count) and delete nothing; needs the same role as the delete",
    example: "true",
  },
  max_affected: {
    description:
      "Delete only if at most this many items match (a non-negative integer, at most MAX_AFFECTED_LIMIT): otherwise 409 TOO_MANY_AFFECTED naming the count, and nothing is deleted. Checked and deleted in one transaction",
    example: 100,
  },
};

export const query = z.strictObject({
  ...timeFilterShape,
  dry_run: queryFlag("dry_run").optional().meta(descriptions.dry_run),
  max_affected: decimalParam("max_affected", 0).optional().meta(descriptions.max_affected),
  ...projectIdShape,
});

export const input = z.strictObject({
  name: nameParam,
  key: keyPatternParam.optional(),
  ...timeFilterShape,
  dry_run: z.boolean().optional().meta(descriptions.dry_run),
  max_affected: countInput("max_affected", 0).optional().meta(descriptions.max_affected),
  if_version: countInput("if_version", 1).optional().meta({
    description:
      "SPEC §9.1 (REST: If-Match): delete the one item of an exact `key` only if its version is this one; otherwise PRECONDITION_FAILED with `current_version` (null: it does not exist). Not with a pattern, dry_run, max_affected or time filters",
  }),
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

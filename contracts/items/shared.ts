import { z } from "zod";
import {
  collectionNameSchema,
  projectIdQuery,
  timeFilterShape as timeFilters,
  timestampSchema,
} from "../common.js";

// Pieces shared by the item contracts (SPEC §3.1–§3.3).

/** The four time filters of SPEC §3.1, as query parameters (strings). */
export const timeFilterShape = timeFilters("rest");

export const nameParam = collectionNameSchema;
export const keyPatternParam = z.string().min(1, "a key pattern cannot be empty").meta({
  description:
    "Key pattern (SPEC §3.5): `*` matches any run of characters; every other character, including `%`, `_` and `\\`, matches itself; case-sensitive, whole key. Everything after `/collections/{name}/` is the key, percent-decoded once and never normalised (SPEC §3.6): it may contain `/` (as is or `%2F`), `\\` (as is or `%5C`), `.` and `..`.",
  example: "patient-*",
});

export const projectIdShape = { project_id: projectIdQuery };

export const itemSchema = z
  .object({
    key: z.string(),
    value: z.unknown().meta({ description: "The stored JSON value, exactly as written" }),
    created: timestampSchema,
    updated: timestampSchema,
  })
  .meta({ id: "Item" });
export type Item = z.infer<typeof itemSchema>;

/** `cursor` and `offset` cannot be combined (SPEC §3.1). */
export function rejectOffsetWithCursor(v: { offset?: number; cursor?: string }, ctx: z.RefinementCtx): void {
  if (v.offset !== undefined && v.cursor !== undefined) {
    ctx.addIssue({ code: "custom", path: ["cursor"], message: "cursor and offset are mutually exclusive" });
  }
}

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

/** An item's version (SPEC §9.1): grows on every write of its key and never repeats, even after a delete. */
export const versionSchema = z.number().int().positive().meta({
  description:
    "The item's version (SPEC §9.1): grows on every write of the key, never repeats (also after a delete); what `ETag`, `If-Match`, `if_version` carry",
  example: 1042,
});

export const itemSchema = z
  .object({
    key: z.string(),
    value: z.unknown().meta({ description: "The stored JSON value, exactly as written" }),
    created: timestampSchema,
    updated: timestampSchema,
    version: versionSchema,
  })
  .meta({ id: "Item" });
export type Item = z.infer<typeof itemSchema>;

/** A `true|false` (also `1|0`) query parameter, as a boolean (an explicit coercion: PLATFORM.md). */
export const queryFlag = (name: string) =>
  z.stringbool({
    truthy: ["true", "1"],
    falsy: ["false", "0"],
    case: "sensitive",
    error: `${name} must be true, false, 1 or 0`,
  });

/** `keys_only` answers no values, so it cannot carry `_meta` in them (SPEC §9.5). */
export function rejectMetaWithKeysOnly(
  v: { keys_only?: boolean; meta?: boolean },
  ctx: z.RefinementCtx,
): void {
  if (v.keys_only && v.meta) {
    ctx.addIssue({
      code: "custom",
      path: ["keys_only"],
      message: "keys_only and meta cannot both be true (keys_only reads no values)",
    });
  }
}

/** `cursor` and `offset` cannot be combined (SPEC §3.1). */
export function rejectOffsetWithCursor(v: { offset?: number; cursor?: string }, ctx: z.RefinementCtx): void {
  if (v.offset !== undefined && v.cursor !== undefined) {
    ctx.addIssue({ code: "custom", path: ["cursor"], message: "cursor and offset are mutually exclusive" });
  }
}

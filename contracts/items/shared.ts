import { z } from "zod";
import { collectionNameSchema, projectIdQuery, timestampSchema } from "../common.js";
import { parsePreciseInstant } from "../../server/services/time-filters.js";

// Pieces shared by the item contracts (SPEC §3.1–§3.3).

const instant = (side: "after" | "before", field: "created" | "updated") =>
  z
    .string()
    .superRefine((v, ctx) => {
      try {
        parsePreciseInstant(v);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: (e as Error).message });
      }
    })
    .optional()
    .meta({
      description:
        side === "after"
          ? `Only items whose ${field} timestamp is at or after the start of this ISO 8601 instant's precision (a date alone is that UTC day; no offset means UTC)`
          : `Only items whose ${field} timestamp is at or before the end of this ISO 8601 instant's precision (\`2024-10-08\` includes all of that UTC day, \`…T12:00:00Z\` all of that second)`,
      example: side === "after" ? "2024-10-08T12:00:00Z" : "2024-10-08",
    });

/** The four time filters of SPEC §3.1, as query parameters (strings). */
export const timeFilterShape = {
  created_after: instant("after", "created"),
  created_before: instant("before", "created"),
  updated_after: instant("after", "updated"),
  updated_before: instant("before", "updated"),
};

export const nameParam = collectionNameSchema;
export const keyPatternParam = z.string().min(1, "a key pattern cannot be empty").meta({
  description:
    "Key pattern (SPEC §3.5): `*` matches any run of characters; every other character, including `%`, `_` and `\\`, matches itself; case-sensitive, whole key. Percent-decoded; everything after `/collections/{name}/` is the key, so a key may contain `/` (sent as is or as `%2F`).",
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

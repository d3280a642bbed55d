import { z } from "zod";
import { collectionNameSchema, projectIdQuery, timestampSchema } from "../common.js";
import { parsePreciseInstant } from "../../server/services/time-filters.js";

// Pieces shared by the Lightning dialect's contracts (SPEC §5): OpenFn Lightning's wire format.

/** Lightning's error body: the one exception to the Error schema of the other REST surfaces. */
export const lightningErrorSchema = z
  .object({ error: z.string().meta({ description: "What went wrong: `Unauthorized`, `Forbidden`, `Not Found`, `Bad Request`, or a message" }) })
  .meta({
    id: "LightningError",
    description: "The error body of the Lightning dialect (/lightning/collections), as OpenFn Lightning sends it",
    example: { error: "Not Found" },
  });
export type LightningErrorBody = z.infer<typeof lightningErrorSchema>;

// Lightning takes full date-times only (a date alone is a 400), with an explicit offset.
const fullDateTimeRe = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$/;

/** Why `text` is not a Lightning time filter value, or null. */
export function dateTimeProblem(text: string): string | null {
  if (!fullDateTimeRe.test(text)) return "must be a full ISO 8601 date-time with an offset, e.g. 2024-10-08T12:00:00Z";
  try {
    parsePreciseInstant(text);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

const dateTime = (field: "created" | "updated", side: "after" | "before") =>
  z
    .string()
    .superRefine((v, ctx) => {
      const problem = dateTimeProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional()
    .meta({
      description:
        side === "after"
          ? `Only items whose ${field} timestamp is >= this instant (full ISO 8601 date-time with offset)`
          : `Only items whose ${field} timestamp is < this instant (full ISO 8601 date-time with offset)`,
      example: "2024-10-08T12:00:00Z",
    });

export const timeFilterShape = {
  created_after: dateTime("created", "after"),
  created_before: dateTime("created", "before"),
  updated_after: dateTime("updated", "after"),
  updated_before: dateTime("updated", "before"),
};

export const projectIdShape = { project_id: projectIdQuery };

export const nameParam = collectionNameSchema;
export const exactKeyParam = z.string().min(1).meta({
  description: "The item's key, exactly (no pattern). Percent-decoded; everything after `/{name}/` is the key, so it may contain `/`.",
  example: "patient-42",
});
export const keyPatternQuery = z
  .string()
  .min(1, "a key pattern cannot be empty")
  .optional()
  .meta({ description: "Key pattern: `*` matches any run of characters, everything else matches itself; absent: every key", example: "patient-*" });

export const collectionPathParams = z.object({ name: nameParam });
export const itemPathParams = z.object({ name: nameParam, key: exactKeyParam });

/** An item on this wire: the value is always a string (see README, "Interop"). */
export const lightningItemSchema = z
  .object({
    key: z.string(),
    value: z.string().meta({
      description: "The value as a string: a JSON string stored by either dialect is returned as that string; any other JSON value as its JSON text",
    }),
    created: timestampSchema,
    updated: timestampSchema,
  })
  .meta({ id: "LightningItem" });

import { z } from "zod";
import { nameParam, projectIdShape, queryFlag } from "./shared.js";

// POST /collections/{name}/import (SPEC §9.4): served by the raw handler server/http/items-import.ts,
// which validates its query with `query`. The body is NDJSON, read line by line as it arrives.

export const modes = ["upsert", "create-only"] as const;
export type ImportMode = (typeof modes)[number];

export const query = z.strictObject({
  mode: z.enum(modes, "mode must be upsert or create-only").optional().meta({
    description:
      "`upsert` (default): every valid line is written. `create-only`: a line whose key already exists is skipped (counted in `skipped`, not an error)",
    example: "create-only",
  }),
  atomic: queryFlag("atomic").optional().meta({
    description:
      "`true`/`1`: all or nothing, in one transaction: with any bad line nothing is written (422), and an import of more than IMPORT_ATOMIC_MAX_ITEMS lines is refused (413) before anything is written",
    example: "true",
  }),
  ...projectIdShape,
});
export type ImportParams = z.output<typeof query>;

export const pathParams = z.object({ name: nameParam });

/** One line of the body. */
export const importLine = z
  .looseObject({
    key: z.string().meta({ description: "1..MAX_KEY_LENGTH characters, no control characters" }),
    value: z.unknown().meta({
      description:
        "Any JSON value, at most MAX_VALUE_CHARS characters once serialized; stored exactly as written (whitespace outside strings removed)",
    }),
  })
  .meta({
    id: "ImportLine",
    description:
      "One JSON object per line (NDJSON). Other members (`created`, `updated`, `version` of an export) are ignored; blank lines are skipped; the last line may end without a newline. A key given on several lines ends with its last line's value (create-only: its first)",
  });

export const lineError = z.object({
  line: z.number().int().meta({ description: "The line's number in the body, from 1 (blank lines count)" }),
  message: z.string(),
});

export const output = z
  .object({
    upserted: z.number().int().meta({ description: "Lines written" }),
    created: z.number().int().meta({ description: "Of those, lines whose key did not exist" }),
    skipped: z
      .number()
      .int()
      .meta({ description: "mode=create-only: lines not written because their key existed" }),
    errors: z
      .array(lineError)
      .meta({ description: "The first 100 lines that were refused, in line order, and why" }),
    error_count: z.number().int().meta({ description: "Every line refused" }),
  })
  .meta({ id: "ImportResult" });
export type ImportOutput = z.infer<typeof output>;

/** How many refused lines an answer lists (error_count counts them all). */
export const LISTED_ERRORS = 100;

import { z } from "zod";
import {
  collectionNameSchema,
  projectIdQuery,
  timeFilterShape as timeFilters,
  timestampSchema,
} from "../common.js";

// Pieces shared by the Lightning dialect's contracts (SPEC §5): OpenFn Lightning's wire format.

/** Lightning's error body: the one exception to the Error schema of the other REST surfaces. */
export const lightningErrorSchema = z
  .object({
    error: z.string().meta({
      description: "What went wrong: `Unauthorized`, `Forbidden`, `Not Found`, `Bad Request`, or a message",
    }),
  })
  .meta({
    id: "LightningError",
    description:
      "The error body of the Lightning dialect (/lightning/collections), as OpenFn Lightning sends it",
    example: { error: "Not Found" },
  });
export type LightningErrorBody = z.infer<typeof lightningErrorSchema>;

export const timeFilterShape = timeFilters("lightning");

export const projectIdShape = { project_id: projectIdQuery };

export const nameParam = collectionNameSchema;
export const exactKeyParam = z.string().min(1).meta({
  description:
    "The item's key, exactly (no pattern). Everything after `/{name}/` is the key, percent-decoded once and never normalised (SPEC §3.6): it may contain `/`, `\\`, `.` and `..`.",
  example: "patient-42",
});
export const keyPatternQuery = z.string().min(1, "a key pattern cannot be empty").optional().meta({
  description:
    "Key pattern: `*` matches any run of characters, everything else matches itself; absent: every key",
  example: "patient-*",
});

export const collectionPathParams = z.object({ name: nameParam });
export const itemPathParams = z.object({ name: nameParam, key: exactKeyParam });

/** An item on this wire: the value is always a string (see README, "Interop"). */
export const lightningItemSchema = z
  .object({
    key: z.string(),
    value: z.string().meta({
      description:
        "The value as a string: a JSON string stored by either dialect is returned as that string; any other JSON value as its JSON text",
    }),
    created: timestampSchema,
    updated: timestampSchema,
  })
  .meta({ id: "LightningItem" });

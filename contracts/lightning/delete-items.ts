import { z } from "zod";
import { keyPatternQuery, projectIdShape, timeFilterShape } from "./shared.js";

// DELETE /lightning/collections/{name}?key=<pattern>: removes the matching items (no key: all of them).

// Lightning ignores query parameters a route does not use (SPEC §5): they are dropped, not refused.
export const query = z.object({ key: keyPatternQuery, ...timeFilterShape, ...projectIdShape });

export const output = z
  .object({
    key: z.string().nullable().meta({ description: "The pattern, or null when every item was deleted" }),
    deleted: z.number().int(),
    error: z.null(),
  })
  .meta({ id: "LightningDeleteItemsResult", example: { key: "patient-*", deleted: 12, error: null } });

import { z } from "zod";
import { projectIdShape } from "./shared.js";

// DELETE /lightning/collections/{name}/{key}: removes one item by exact key (200 even when missing).

// Lightning ignores query parameters a route does not use (SPEC §5): they are dropped, not refused.
export const query = z.object({ ...projectIdShape });

export const output = z
  .object({
    key: z.string(),
    deleted: z.union([z.literal(0), z.literal(1)]),
    error: z.string().nullable().meta({ description: "`Item Not Found` when there was no such key" }),
  })
  .meta({ id: "LightningDeleteItemResult", example: { key: "patient-42", deleted: 1, error: null } });

import { z } from "zod";
import { projectIdShape } from "./shared.js";

// POST /lightning/collections/{name} {"items": [{key, value}]}: create or replace many items atomically.

// Lightning ignores query parameters a route does not use (SPEC §5): they are dropped, not refused.
export const query = z.object({ ...projectIdShape });

export const body = z
  .object({
    items: z.array(
      z.object({
        key: z
          .string()
          .meta({ description: "The item's key (1..MAX_KEY_LENGTH characters, no control characters)" }),
        value: z.string().meta({ description: "The value; stored as a JSON string (README, Interop)" }),
      }),
    ),
  })
  .meta({ id: "LightningPostBody" });

export { output } from "./put-item.js";

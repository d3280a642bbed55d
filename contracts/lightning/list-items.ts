import { z } from "zod";
import { decimalParam } from "../common.js";
import { keyPatternQuery, lightningItemSchema, projectIdShape, timeFilterShape } from "./shared.js";

// GET /lightning/collections/{name}?key=…: a streamed page of items and the cursor of the next page.

export const DEFAULT_LIMIT = 1000;

export const query = z.strictObject({
  key: keyPatternQuery,
  limit: decimalParam("limit", 1)
    .optional()
    .meta({ description: `At most this many items (default ${DEFAULT_LIMIT})`, example: 1000 }),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_\-+/]{1,40}={0,2}$/, "cursor is not a cursor returned by this service")
    .optional()
    .meta({ description: "The `cursor` of the previous page" }),
  ...timeFilterShape,
  ...projectIdShape,
});

export const output = z
  .object({
    items: z.array(lightningItemSchema),
    cursor: z.string().nullable().meta({
      description: "Opaque base64url token (no JSON escapes) when more items match; null on the last page",
    }),
  })
  .meta({ id: "LightningItemPage" });

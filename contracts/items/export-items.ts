import { z } from "zod";
import { itemSchema, nameParam, projectIdShape, timeFilterShape, type Item } from "./shared.js";

// GET /collections/{name}/export (SPEC §9.4): served by the raw stream handler (server/http/items-export.ts),
// which validates its query with `query`.

export const formats = ["ndjson", "json-array"] as const;
export type ExportFormat = (typeof formats)[number];

export const query = z.strictObject({
  key: z.string().min(1, "a key pattern cannot be empty").optional().meta({
    description:
      "Only the items whose key matches this pattern (SPEC §3.5: `*` matches any run of characters, every other character matches itself)",
    example: "patient-*",
  }),
  ...timeFilterShape,
  format: z.enum(formats, "format must be ndjson or json-array").optional().meta({
    description:
      "`ndjson` (default): one item per line, `application/x-ndjson`. `json-array`: one JSON array of the same objects, `application/json` (the shape of Lightning's collection download)",
    example: "ndjson",
  }),
  ...projectIdShape,
});
export type ExportParams = z.output<typeof query>;

export const pathParams = z.object({ name: nameParam });

/** One exported item (a line of the NDJSON answer, an element of the json-array one): the §3 item. */
export const exportedItem = itemSchema;
export type ExportedItem = Item;

export const arrayOutput = z.array(exportedItem);

import { z } from "zod";
import { projectIdShape } from "./shared.js";

// PUT /lightning/collections/{name}/{key} {"value": "<string>"}: create or replace one item.

// Lightning ignores query parameters a route does not use (SPEC §5): they are dropped, not refused.
export const query = z.object({ ...projectIdShape });

export const body = z
  .object({ value: z.string().meta({ description: "The value; stored as a JSON string (README, Interop)" }) })
  .meta({ id: "LightningPutBody" });

export const output = z
  .object({ upserted: z.number().int(), error: z.string().nullable() })
  .meta({ id: "LightningUpsertResult", example: { upserted: 1, error: null } });

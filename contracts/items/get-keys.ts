import { z } from "zod";
import { keyPage, pageInputShape } from "./get-items.js";
import { rejectOffsetWithCursor } from "./shared.js";

// tRPC items.keys: `GET /collections/{name}[/{key}]?keys_only=true` (SPEC §9.5) as a procedure of its own,
// so that items.get keeps its one answer type (a page of items) for TypeScript callers.

/** items.get's input without `meta` (no value is read). */
export const input = z.strictObject(pageInputShape).superRefine(rejectOffsetWithCursor);
export type GetKeysInput = z.input<typeof input>;

export const output = keyPage;
export type GetKeysOutput = z.infer<typeof output>;

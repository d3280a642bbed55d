import { z } from "zod";
import { nameParam, projectIdShape } from "./shared.js";

// POST /collections/{name} (SPEC §3.2). Items are validated one by one by the service, so that a bad
// item is reported in `errors` instead of failing the request.

export const upsertItem = z
  .looseObject({
    key: z.string().meta({ description: "1..MAX_KEY_LENGTH characters, no control characters" }),
    value: z
      .unknown()
      .meta({ description: "Any JSON value, at most MAX_VALUE_CHARS characters once serialized" }),
    if_version: z.number().int().positive().optional().meta({
      description:
        "Written only if the item exists with this version (SPEC §9.1); otherwise a VERSION_MISMATCH error for this item",
    }),
    if_absent: z.boolean().optional().meta({
      description:
        "true: written only if the key does not exist; otherwise a VERSION_MISMATCH error for this item",
    }),
    ttl_seconds: z.number().int().min(1).optional().meta({
      description:
        "The item expires this many seconds after the write (SPEC §9.2). Without it or expires_at, the collection's default TTL applies, if any",
    }),
    expires_at: z.iso.datetime({ offset: true }).optional().meta({
      description: "The item expires at this instant (ISO 8601 with Z or an offset)",
    }),
  })
  .meta({ id: "UpsertItem", description: "Extra properties are accepted and ignored" });

export const body = z
  .union([z.array(upsertItem), z.object({ items: z.array(upsertItem) })])
  .meta({ description: "An array of items, or an object with the array under `items`" });

export const query = z.strictObject({ ...projectIdShape });

/** An item as a TypeScript caller writes it. */
export interface UpsertItem {
  key: string;
  value: unknown;
  /** Written only if the item's current version is this one (SPEC §9.1). */
  if_version?: number;
  /** Written only if the key does not exist. */
  if_absent?: boolean;
  /** Expires this many seconds after the write (SPEC §9.2). */
  ttl_seconds?: number;
  /** Expires at this instant (ISO 8601). */
  expires_at?: string;
}

/**
 * The items of the tRPC input: typed for callers as UpsertItem[], validated item by item by the service
 * (as REST and the Lightning dialect are), so that a bad item is reported in `errors` instead of failing the call.
 */
const itemsInput = z.preprocess<unknown, z.ZodArray<z.ZodUnknown>, UpsertItem[]>(
  (items) => items,
  z.array(z.unknown()),
);

export const input = z.strictObject({ name: nameParam, items: itemsInput, ...projectIdShape });
export type UpsertItemsInput = z.input<typeof input>;

export const itemError = z.object({
  index: z.number().int().meta({ description: "Position of the item in the request" }),
  key: z.string().nullable().meta({ description: "The item's key, or null when it has no string key" }),
  message: z.string(),
  code: z
    .literal("VERSION_MISMATCH")
    .optional()
    .meta({ description: "Present when the item's if_version / if_absent condition did not hold" }),
  current_version: z
    .number()
    .int()
    .nullable()
    .optional()
    .meta({ description: "With VERSION_MISMATCH: the item's current version, null when it does not exist" }),
});

export const output = z
  .object({
    upserted: z.number().int().meta({ description: "Items written" }),
    errors: z.array(itemError).meta({ description: "Items not written, and why" }),
  })
  .meta({ id: "UpsertResult" });
export type UpsertItemsOutput = z.infer<typeof output>;

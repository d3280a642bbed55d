import { z } from "zod";
import { countInput, decimalParam, timestampSchema } from "../common.js";
import { nameParam, projectIdShape, versionSchema } from "./shared.js";

// PUT /collections/{name}/{key} (SPEC §9.1): one item, its value the body, with If-Match / If-None-Match;
// served by a raw handler (server/http/items-put.ts), so that the body is the value's exact JSON text.
// tRPC: items.put, the same write with if_version / if_absent.

const descriptions = {
  ttl_seconds: {
    description:
      "The item expires this many seconds after the write (SPEC §9.2). Without it or expires_at, the collection's default TTL applies, if any; an expiry set earlier is not kept",
    example: 3600,
  },
  expires_at: {
    description: "The item expires at this instant: ISO 8601 with `Z` or an offset, within 100 years",
    example: "2030-01-01T00:00:00Z",
  },
  if_version: {
    description:
      "Written only if the item exists with this version; otherwise PRECONDITION_FAILED (412) with `current_version`",
  },
  if_absent: {
    description:
      "`true`: written only if the key does not exist; otherwise PRECONDITION_FAILED (412) with `current_version`",
  },
};

/** The key of one item: exact, a `*` is the character itself. */
export const keyParam = z.string().meta({
  description:
    "The item's key, exactly (not a pattern: `*` is the character itself); percent-decoded once, never normalised (SPEC §3.6)",
  example: "patient-42",
});

export const pathParams = z.object({ name: nameParam, key: keyParam });

/** The query string of the REST route (the conditions are headers, see `headers`). */
export const query = z.strictObject({
  ttl_seconds: decimalParam("ttl_seconds", 1).optional().meta(descriptions.ttl_seconds),
  expires_at: z.string().optional().meta(descriptions.expires_at),
  ...projectIdShape,
});

/** The conditional headers of the REST route, as documented (parsed by server/http/conditional.ts). */
export const headers = z.object({
  "If-Match": z.string().optional().meta({
    description:
      'One strong entity tag, the version an `ETag` gave (`"42"`): written only if the item exists with that version. `*`: only if the item exists. Otherwise 412 PRECONDITION_FAILED with `current_version`. Weak tags (`W/"42"`) and lists are refused (400). Not with If-None-Match',
    example: '"42"',
  }),
  "If-None-Match": z.string().optional().meta({
    description:
      "`*` (the only value accepted on a write): written only if the key does not exist (412 with `current_version` otherwise)",
    example: "*",
  }),
});

/** The body: the value itself, any JSON value, kept as written (at most MAX_VALUE_CHARS characters once minified). */
export const body = z.unknown().meta({
  description:
    "The item's value: any JSON value, stored exactly as written (whitespace outside strings aside), at most MAX_VALUE_CHARS characters",
  example: { status: "done", count: 3 },
});

export const output = z
  .object({
    key: z.string(),
    version: versionSchema,
    created: timestampSchema,
    updated: timestampSchema,
    expires: timestampSchema
      .nullable()
      .meta({ description: "When the item expires (SPEC §9.2), or null: it does not" }),
  })
  .meta({ id: "PutResult", description: "The item written: its new version (also the answer's ETag)" });
export type PutItemOutput = z.infer<typeof output>;

export const input = z.strictObject({
  name: nameParam,
  key: keyParam,
  value: z
    .unknown()
    .meta({ description: "Any JSON value, at most MAX_VALUE_CHARS characters once serialized" }),
  if_version: countInput("if_version", 1).optional().meta(descriptions.if_version),
  if_absent: z.boolean().optional().meta(descriptions.if_absent),
  ttl_seconds: countInput("ttl_seconds", 1).optional().meta(descriptions.ttl_seconds),
  expires_at: z.string().optional().meta(descriptions.expires_at),
  ...projectIdShape,
});
export type PutItemInput = z.input<typeof input>;

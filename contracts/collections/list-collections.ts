import { z } from "zod";
import type { OpenApiMeta } from "trpc-to-openapi";
import { projectIdQuery, queryCount, timestampSchema, uuidSchema } from "../common.js";
import { defaultTtlOutput } from "./default-ttl.js";

export const meta = {
  openapi: {
    operationId: "collections.list",
    method: "GET",
    path: "/collections",
    tags: ["collections"],
    summary: "List the collections the caller can see",
    description:
      "Every collection of the caller's projects (a run token: of its project), with its item count and stored value bytes, " +
      "ordered by name then project id, in pages of `limit` (default COLLECTIONS_DEFAULT_LIMIT, 100; at most COLLECTIONS_MAX_LIMIT, 1000). " +
      "`cursor` is null on the last page; otherwise pass it back to read the next one.",
    protect: true,
    errorResponses: {
      // trpc-to-openapi 3.3 documents one 400 for every route (the first route's text wins): keep it general
      400: "A malformed or unknown parameter",
      401: "Missing or invalid credentials",
    },
  },
} satisfies OpenApiMeta;

/**
 * `limit`: a positive integer, typed as a number; on REST, decimal digits in the query string (see
 * queryCount). The ceiling COLLECTIONS_MAX_LIMIT is configuration, checked by the service
 * (server/services/collections.ts) with the same parameter name.
 */
export const limitParam = queryCount("limit", 1)
  .meta({
    description:
      "Collections per page: a positive integer in decimal digits (default COLLECTIONS_DEFAULT_LIMIT, 100; more than COLLECTIONS_MAX_LIMIT, 1000, is a 400)",
    example: "100",
    // openapi.json documents the REST query parameter: a string of digits (tRPC callers pass a number)
    override: ({ jsonSchema }) => {
      const { description, example } = jsonSchema;
      for (const key of Object.keys(jsonSchema)) delete jsonSchema[key as keyof typeof jsonSchema];
      Object.assign(jsonSchema, { description, example, type: "string", pattern: "^[0-9]+$" });
    },
  })
  .optional();

export const cursorParam = z
  .string()
  .min(1, "cursor cannot be empty")
  .max(400, "cursor is not a cursor this service issued")
  .meta({
    description: "The `cursor` of the previous page (opaque); a cursor this service did not issue is a 400",
  })
  .optional();

/** Every parameter is optional, and so is the input (a tRPC caller may call `collections.list.query()`). */
export const input = z
  .strictObject({ project_id: projectIdQuery, limit: limitParam, cursor: cursorParam })
  .optional();

export const collectionSummary = z
  .object({
    name: z.string(),
    project_id: uuidSchema,
    items: z.number().int().meta({ description: "Number of items" }),
    bytes: z
      .number()
      .int()
      .meta({ description: "Stored value bytes: the UTF-8 length of the items' JSON values, summed" }),
    created: timestampSchema,
    default_ttl_seconds: defaultTtlOutput,
  })
  .meta({ id: "CollectionSummary" });

export const output = z.object({
  results: z.array(collectionSummary),
  cursor: z
    .string()
    .nullable()
    .meta({ description: "Pass as `cursor` to read the next page; null on the last page" }),
});
export type ListCollectionsInput = z.input<typeof input>;
export type ListCollectionsParams = z.output<typeof input>;
export type ListCollectionsOutput = z.infer<typeof output>;

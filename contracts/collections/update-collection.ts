import { z } from "zod";
import type { OpenApiMeta } from "trpc-to-openapi";
import { collectionNameSchema, uuidSchema } from "../common.js";
import { output as collection } from "./create-collection.js";
import { defaultTtlUpdate } from "./default-ttl.js";

export const meta = {
  openapi: {
    operationId: "collections.update",
    method: "PATCH",
    path: "/projects/{project_id}/collections/{name}",
    tags: ["collections"],
    summary: "Change a collection's default TTL (project admins and owners)",
    description:
      "Sets (or, with null, removes) the TTL that items written without `ttl_seconds` or `expires_at` get (SPEC §9.2). " +
      "It applies to writes from now on: items already written keep their expiry. Answers 200 with the collection.",
    protect: true,
    errorResponses: {
      400: "Invalid collection name, project id or default_ttl_seconds",
      401: "Missing or invalid credentials",
      403: "The caller's role or token scope does not allow managing collections",
      404: "No such project among the caller's projects, or no such collection in it",
    },
  },
} satisfies OpenApiMeta;

export const input = z.strictObject({
  project_id: uuidSchema.meta({ description: "The project's id" }),
  name: collectionNameSchema,
  default_ttl_seconds: defaultTtlUpdate,
});
export type UpdateCollectionInput = z.input<typeof input>;

export const output = collection;
export type UpdateCollectionOutput = z.infer<typeof output>;

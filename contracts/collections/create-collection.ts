import { z } from "zod";
import type { OpenApiMeta } from "trpc-to-openapi";
import { collectionNameSchema, timestampSchema, uuidSchema } from "../common.js";
import { defaultTtlInput, defaultTtlOutput } from "./default-ttl.js";

export const meta = {
  openapi: {
    operationId: "collections.create",
    method: "POST",
    path: "/projects/{project_id}/collections",
    tags: ["collections"],
    summary: "Create a collection (project admins and owners)",
    description:
      "Answers 200 with the new collection. 404 when the caller is not a member of the project, 403 without the admin or owner role, 409 when the name is taken in that project. " +
      "`default_ttl_seconds` gives the collection a default TTL (SPEC §9.2); change it later with `PATCH /projects/{project_id}/collections/{name}`.",
    protect: true,
    errorResponses: {
      400: "Invalid collection name, project id or default_ttl_seconds",
      401: "Missing or invalid credentials",
      403: "The caller's role or token scope does not allow managing collections",
      404: "No such project among the caller's projects",
      409: "The project already has a collection of that name",
    },
  },
} satisfies OpenApiMeta;

export const input = z.strictObject({
  project_id: uuidSchema.meta({ description: "The project's id" }),
  name: collectionNameSchema,
  default_ttl_seconds: defaultTtlInput,
});

export const output = z
  .object({
    id: uuidSchema,
    name: z.string(),
    project_id: uuidSchema,
    created: timestampSchema,
    default_ttl_seconds: defaultTtlOutput,
  })
  .meta({ id: "Collection" });
export type CreateCollectionOutput = z.infer<typeof output>;

import { z } from "zod";
import type { OpenApiMeta } from "trpc-to-openapi";
import { collectionNameSchema, uuidSchema } from "../common.js";

export const meta = {
  openapi: {
    operationId: "collections.delete",
    method: "DELETE",
    path: "/projects/{project_id}/collections/{name}",
    tags: ["collections"],
    summary: "Delete a collection and all its items (project admins and owners)",
    protect: true,
    errorResponses: {
      400: "Invalid collection name or project id",
      401: "Missing or invalid credentials",
      403: "The caller's role or token scope does not allow managing collections",
      404: "No such project among the caller's projects, or no such collection in it",
    },
  },
} satisfies OpenApiMeta;

export const input = z.strictObject({
  project_id: uuidSchema.meta({ description: "The project's id" }),
  name: collectionNameSchema,
});
export const output = z.object({ deleted: z.literal(true) });

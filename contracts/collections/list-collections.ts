import { z } from "zod";
import type { OpenApiMeta } from "trpc-to-openapi";
import { projectIdQuery, timestampSchema, uuidSchema } from "../common.js";

export const meta = {
  openapi: {
    method: "GET",
    path: "/collections",
    tags: ["collections"],
    summary: "List the collections the caller can see",
    description: "Every collection of the caller's projects (a run token: of its project), with its item count.",
    protect: true,
    errorResponses: { 400: "A malformed or unknown parameter", 401: "Missing or invalid credentials" },
  },
} satisfies OpenApiMeta;

export const input = z.strictObject({ project_id: projectIdQuery });

export const collectionSummary = z.object({
  name: z.string(),
  project_id: uuidSchema,
  items: z.number().int().meta({ description: "Number of items" }),
  created: timestampSchema,
});

export const output = z.object({ results: z.array(collectionSummary) });
export type ListCollectionsOutput = z.infer<typeof output>;

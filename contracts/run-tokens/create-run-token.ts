import { z } from "zod";
import type { OpenApiMeta } from "trpc-to-openapi";

export const meta = {
  openapi: {
    operationId: "runTokens.create",
    method: "POST",
    path: "/projects/{project_id}/run-tokens",
    tags: ["tokens"],
    summary: "Mint a run token for a project",
    description:
      "Issues a short-lived run token that may read and write every collection of the project (and nothing else). Needs a write-scoped token of a project admin or owner.",
    protect: true,
    successDescription: "The new run token",
    errorResponses: {
      400: "Invalid run_id or ttl (above RUN_TOKEN_MAX_TTL_SECONDS, or ending after the token making the request)",
      401: "Missing or invalid token",
      403: "Not an admin or owner of the project, or a read-scoped token",
      404: "No such project among yours",
    },
  },
} satisfies OpenApiMeta;

export const input = z.strictObject({
  project_id: z.uuid("project_id must be a UUID").meta({ description: "The project the run belongs to" }),
  run_id: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .meta({ description: "The run's id (sub: run:<run_id>); a new UUID when omitted" }),
  ttl: z
    .number()
    .int("ttl must be a whole number of seconds")
    .min(1, "ttl must be positive")
    .optional()
    .meta({
      description:
        "Lifetime in seconds; default RUN_TOKEN_TTL_SECONDS, at most RUN_TOKEN_MAX_TTL_SECONDS, and never ending after the token making the request (the default is cut to it; a longer ttl is a 400)",
    }),
});
export const output = z.object({
  token: z.string().meta({ description: "The bearer token" }),
  run_id: z.string(),
  project_id: z.uuid(),
  expires_at: z.string().meta({ description: "ISO 8601 UTC" }),
});

export type CreateRunTokenInput = z.infer<typeof input>;
export type CreateRunTokenOutput = z.infer<typeof output>;

import { z } from "zod";
import type { OpenApiMeta } from "trpc-to-openapi";

export const meta = {
  openapi: {
    operationId: "system.health",
    method: "GET",
    path: "/health",
    tags: ["system"],
    summary: "Health check",
    description: "200 when the database answers a query, 503 (error body) otherwise.",
    protect: false,
    errorResponses: { 503: "The database does not answer" },
  },
} satisfies OpenApiMeta;

/** No parameters: a tRPC caller may omit the input. */
export const input = z.object({}).optional();
export const output = z.object({
  status: z.literal("ok"),
  database: z.enum(["embedded", "embedded-via-server", "postgres"]),
});

export type GetHealthOutput = z.infer<typeof output>;

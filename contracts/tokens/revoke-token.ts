import { z } from "zod";
import type { OpenApiMeta } from "trpc-to-openapi";

export const meta = {
  openapi: {
    operationId: "tokens.revoke",
    method: "DELETE",
    path: "/tokens/{id}",
    tags: ["tokens"],
    summary: "Revoke one of your access tokens",
    description:
      "Revokes the caller's token with this id; it is refused from the next request on. Revoking a revoked token succeeds again.",
    protect: true,
    errorResponses: {
      400: "id is not a UUID",
      401: "Missing or invalid token",
      403: "A run token or a read-scoped token",
      404: "You have no token with this id",
    },
  },
} satisfies OpenApiMeta;

export const input = z.strictObject({
  id: z.uuid("id must be a UUID").meta({ description: "The token's id" }),
});
export const output = z.object({ id: z.uuid(), revoked: z.literal(true) });

export type RevokeTokenInput = z.infer<typeof input>;
export type RevokeTokenOutput = z.infer<typeof output>;

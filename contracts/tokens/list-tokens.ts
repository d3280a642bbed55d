import { z } from "zod";
import type { OpenApiMeta } from "trpc-to-openapi";
import { tokenInfoSchema } from "./token-info.js";

export const meta = {
  openapi: {
    operationId: "tokens.list",
    method: "GET",
    path: "/tokens",
    tags: ["tokens"],
    summary: "List your access tokens",
    description:
      "The caller's own user access tokens, newest first, revoked and expired ones included. Needs a user access token (a run token gets 403).",
    protect: true,
    errorResponses: { 401: "Missing or invalid token", 403: "A run token" },
  },
} satisfies OpenApiMeta;

/** No parameters: a tRPC caller may omit the input. */
export const input = z.strictObject({}).optional();
export const output = z.object({ results: z.array(tokenInfoSchema) });

export type ListTokensOutput = z.infer<typeof output>;

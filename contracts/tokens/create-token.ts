import { z } from "zod";
import type { OpenApiMeta } from "trpc-to-openapi";
import { tokenScopeSchema } from "../common.js";
import { tokenInfoSchema } from "./token-info.js";

export const MAX_TOKEN_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

export const meta = {
  openapi: {
    operationId: "tokens.create",
    method: "POST",
    path: "/tokens",
    tags: ["tokens"],
    summary: "Create an access token for yourself",
    description:
      "Issues a new user access token for the caller. The token text is in the response only: store it, it cannot be shown again. Needs a write-scoped user access token. " +
      "A token can only give less than it has (SPEC §2): when the token making the request expires, the new token expires no later (by default at the same instant; a longer expires_in is a 400).",
    protect: true,
    successDescription: "The new token",
    errorResponses: {
      400: "Invalid label, scope or expires_in, or an expires_in that ends after the token making the request",
      401: "Missing or invalid token",
      403: "A run token or a read-scoped token",
    },
  },
} satisfies OpenApiMeta;

/** Every field has a default: a tRPC caller may omit the input (`tokens.create.mutate()`), REST the body's fields. */
export const input = z
  .strictObject({
    label: z
      .string()
      .trim()
      .max(200, "a label has at most 200 characters")
      .default("")
      .meta({ description: "What the token is for", example: "nightly sync" }),
    scope: tokenScopeSchema
      .default("write")
      .meta({ description: "read: GET only; write (default): everything you may do" }),
    expires_in: z
      .number()
      .int("expires_in must be a whole number of seconds")
      .min(1, "expires_in must be positive")
      .max(
        MAX_TOKEN_LIFETIME_SECONDS,
        `expires_in is at most ${MAX_TOKEN_LIFETIME_SECONDS} seconds (10 years)`,
      )
      .optional()
      .meta({
        description:
          "Lifetime in seconds, ending no later than the token making the request. Omitted: the new token expires when that token does, or never if that one never expires",
      }),
  })
  .prefault({});
export const output = tokenInfoSchema.extend({
  token: z.string().meta({ description: "The bearer token. Shown only in this response." }),
});

export type CreateTokenInput = z.infer<typeof input>;
export type CreateTokenOutput = z.infer<typeof output>;

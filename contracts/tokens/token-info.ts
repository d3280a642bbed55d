import { z } from "zod";
import { tokenScopeSchema } from "../common.js";

/** A user access token as its owner sees it; the token text itself is shown once, at creation. */
export const tokenInfoSchema = z
  .object({
    id: z.uuid().meta({ description: "The token's id (its jti); use it to revoke the token" }),
    label: z.string().meta({ description: "What the token is for, as given at creation" }),
    scope: tokenScopeSchema.meta({ description: "read: GET only; write: everything the user may do" }),
    created: z.string().meta({ description: "ISO 8601 UTC" }),
    expires_at: z
      .string()
      .nullable()
      .meta({ description: "ISO 8601 UTC; null when the token does not expire" }),
    last_used_at: z
      .string()
      .nullable()
      .meta({ description: "ISO 8601 UTC, to within a minute; null when never used" }),
    revoked_at: z.string().nullable().meta({ description: "ISO 8601 UTC; null unless revoked" }),
  })
  .meta({ id: "AccessToken" });

export type TokenInfo = z.infer<typeof tokenInfoSchema>;

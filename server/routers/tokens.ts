import * as createToken from "../../contracts/tokens/create-token.js";
import * as listTokens from "../../contracts/tokens/list-tokens.js";
import * as revokeToken from "../../contracts/tokens/revoke-token.js";
import { forbidden } from "../errors.js";
import { auditCall } from "../observability/audit-request.js";
import { createOwnToken, listOwnTokens, revokeOwnToken } from "../services/tokens.js";
import { userProcedure } from "../trpc.js";

const userWriteProcedure = userProcedure.use(({ ctx, next }) => {
  if (ctx.principal.scope === "read")
    throw forbidden("This token has read scope; it cannot create or revoke tokens");
  return next();
});

// A plain record of procedures, not a router: its type carries no server context (client/app-router.ts).
export const tokensRouter = {
  list: userProcedure
    .meta(listTokens.meta)
    .input(listTokens.input)
    .output(listTokens.output)
    .query(({ ctx }) => listOwnTokens(ctx.services.auth, ctx.principal)),
  create: userWriteProcedure
    .meta(createToken.meta)
    .input(createToken.input)
    .output(createToken.output)
    .mutation(async ({ ctx, input }) => {
      const created = await createOwnToken(ctx.services.auth, ctx.principal, input);
      auditCall(ctx, "token.create", {
        token_id: created.id,
        user_id: ctx.principal.userId,
        scope: created.scope,
      });
      return created;
    }),
  revoke: userWriteProcedure
    .meta(revokeToken.meta)
    .input(revokeToken.input)
    .output(revokeToken.output)
    .mutation(async ({ ctx, input }) => {
      const revoked = await revokeOwnToken(ctx.services.auth, ctx.principal, input.id);
      auditCall(ctx, "token.revoke", { token_id: revoked.id, user_id: ctx.principal.userId });
      return revoked;
    }),
};

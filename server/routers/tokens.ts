import * as createToken from "../../contracts/tokens/create-token.js";
import * as listTokens from "../../contracts/tokens/list-tokens.js";
import * as revokeToken from "../../contracts/tokens/revoke-token.js";
import { forbidden } from "../errors.js";
import { createOwnToken, listOwnTokens, revokeOwnToken } from "../services/tokens.js";
import { router, userProcedure } from "../trpc.js";

const userWriteProcedure = userProcedure.use(({ ctx, next }) => {
  if (ctx.principal.scope === "read") throw forbidden("This token has read scope; it cannot create or revoke tokens");
  return next();
});

export const tokensRouter = router({
  list: userProcedure
    .meta(listTokens.meta)
    .input(listTokens.input)
    .output(listTokens.output)
    .query(({ ctx }) => listOwnTokens(ctx.services.auth, ctx.principal)),
  create: userWriteProcedure
    .meta(createToken.meta)
    .input(createToken.input)
    .output(createToken.output)
    .mutation(({ ctx, input }) => createOwnToken(ctx.services.auth, ctx.principal, input)),
  revoke: userWriteProcedure
    .meta(revokeToken.meta)
    .input(revokeToken.input)
    .output(revokeToken.output)
    .mutation(({ ctx, input }) => revokeOwnToken(ctx.services.auth, ctx.principal, input.id)),
});

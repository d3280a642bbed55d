import * as createRunToken from "../../contracts/run-tokens/create-run-token.js";
import { mintRunToken } from "../services/tokens.js";
import { authedProcedure, router } from "../trpc.js";

export const runTokensRouter = router({
  create: authedProcedure
    .meta(createRunToken.meta)
    .input(createRunToken.input)
    .output(createRunToken.output)
    .mutation(({ ctx, input }) => mintRunToken(ctx.services.auth, ctx.principal, input)),
});

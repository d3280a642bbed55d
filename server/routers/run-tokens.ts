import * as createRunToken from "../../contracts/run-tokens/create-run-token.js";
import { auditCall } from "../observability/audit-request.js";
import { mintRunToken } from "../services/tokens.js";
import { authedProcedure } from "../trpc.js";

// A plain record of procedures, not a router: its type carries no server context (client/app-router.ts).
export const runTokensRouter = {
  create: authedProcedure
    .meta(createRunToken.meta)
    .input(createRunToken.input)
    .output(createRunToken.output)
    .mutation(async ({ ctx, input }) => {
      const minted = await mintRunToken(ctx.services.auth, ctx.principal, input);
      auditCall(ctx, "run_token.create", {
        project_id: minted.project_id,
        run_id: minted.run_id,
        expires_at: minted.expires_at,
      });
      return minted;
    }),
};

import * as getHealth from "../../contracts/system/get-health.js";
import { checkHealth } from "../services/health.js";
import { publicProcedure } from "../trpc.js";

// A plain record of procedures, not a router: its type carries no server context (client/app-router.ts).
export const systemRouter = {
  health: publicProcedure
    .meta(getHealth.meta)
    .input(getHealth.input)
    .output(getHealth.output)
    .query(({ ctx }) => checkHealth(ctx.services)),
};

import * as getHealth from "../../contracts/system/get-health.js";
import { checkHealth } from "../services/health.js";
import { publicProcedure, router } from "../trpc.js";

export const systemRouter = router({
  health: publicProcedure
    .meta(getHealth.meta)
    .input(getHealth.input)
    .output(getHealth.output)
    .query(({ ctx }) => checkHealth(ctx.services)),
});

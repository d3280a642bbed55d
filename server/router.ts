import { systemRouter } from "./routers/system.js";
import { router } from "./trpc.js";

export const appRouter = router({
  system: systemRouter,
});

/** Import this type in a TypeScript client: `createTRPCClient<AppRouter>(...)`. */
export type AppRouter = typeof appRouter;

import { systemRouter } from "./routers/system.js";
import { collectionsRouter } from "./routers/collections.js";
import { itemsRouter } from "./routers/items.js";
import { tokensRouter } from "./routers/tokens.js";
import { runTokensRouter } from "./routers/run-tokens.js";
import { router } from "./trpc.js";

export const appRouter = router({
  system: systemRouter,
  collections: collectionsRouter,
  items: itemsRouter,
  tokens: tokensRouter,
  runTokens: runTokensRouter,
});

/** The server's router type, context included. Clients import `AppRouter` from `collections-service/client`. */
export type AppRouter = typeof appRouter;

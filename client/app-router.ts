import type { TRPCBuiltRouter, TRPCDecorateCreateRouterOptions } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import type { TrpcErrorShape } from "../contracts/common.js";
import type { AppRouter as ServerRouter } from "../server/router.js";
import type { collectionsRouter } from "../server/routers/collections.js";
import type { itemsRouter } from "../server/routers/items.js";
import type { runTokensRouter } from "../server/routers/run-tokens.js";
import type { systemRouter } from "../server/routers/system.js";
import type { tokensRouter } from "../server/routers/tokens.js";

// The router's type as a client sees it. server/router.ts's `typeof appRouter` carries the server's
// context (and through it the database, Prisma's generated types, the logger…): a client type-checking
// against it compiles half the server. This one is made of the same procedure records (plain objects,
// whose emitted declarations name only contracts and @trpc/server types) under a root without a context.
// The check at the end keeps it the server's router, procedure for procedure (`npm run typecheck`).

/** The procedures by path, composed as in server/router.ts. */
export type AppProcedures = {
  system: typeof systemRouter;
  collections: typeof collectionsRouter;
  items: typeof itemsRouter;
  tokens: typeof tokensRouter;
  runTokens: typeof runTokensRouter;
};

/** The root types of server/trpc.ts without its context: no transformer (plain JSON), TrpcErrorShape errors. */
export interface AppRootTypes {
  ctx: object;
  meta: OpenApiMeta;
  errorShape: TrpcErrorShape;
  transformer: false;
}

/** The type to give `createTRPCClient<AppRouter>()`; createCollectionsClient() does it for you. */
export type AppRouter = TRPCBuiltRouter<AppRootTypes, TRPCDecorateCreateRouterOptions<AppProcedures>>;

// Fails to compile when this type and server/router.ts's differ in a procedure (path, kind, input, output),
// in the error shape or in the transformer. Not exported, so the emitted declarations do not mention it.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Root<R extends { _def: { _config: { $types: object } } }> = Omit<R["_def"]["_config"]["$types"], "ctx">;
type SameAsServer = [
  Same<AppRouter["_def"]["record"], ServerRouter["_def"]["record"]>,
  Same<Root<AppRouter>, Root<ServerRouter>>,
];
const sameAsServer: SameAsServer = [true, true];
void sameAsServer;

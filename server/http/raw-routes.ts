import type { IncomingMessage, ServerResponse } from "node:http";
import type { Services } from "../context.js";
import { deleteItemsRoute } from "./items-delete.js";
import { getItemsRoute } from "./items-get.js";
import { lightningRoute } from "./lightning-routes.js";
import { upsertItemsRoute } from "./items-upsert.js";

/** A route served by a hand-written handler rather than by tRPC or trpc-to-openapi. */
export interface RawRoute {
  name: string;
  /** Whether this module owns the request; the first route that does handles it. */
  matches(method: string, pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, url: URL, services: Services): Promise<void>;
}

/** Mounted in this order, before the OpenAPI handler (server/http/app.ts). */
export const rawRoutes: RawRoute[] = [getItemsRoute, upsertItemsRoute, deleteItemsRoute, lightningRoute];

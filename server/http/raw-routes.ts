import type { IncomingMessage, ServerResponse } from "node:http";
import { deleteItemsRoute } from "./items-delete.js";
import { getItemsRoute } from "./items-get.js";
import { lightningRoute } from "./lightning-routes.js";
import { upsertItemsRoute } from "./items-upsert.js";
import type { RawRequest } from "./raw-request.js";

/** A route served by a hand-written handler rather than by tRPC or trpc-to-openapi. */
export interface RawRoute {
  name: string;
  /** Whether this module owns the request (by its raw path); the first route that does handles it. */
  matches(method: string, path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, raw: RawRequest): Promise<void>;
}

/** Mounted in this order, before the OpenAPI handler (server/http/app.ts). */
export const rawRoutes: RawRoute[] = [getItemsRoute, upsertItemsRoute, deleteItemsRoute, lightningRoute];

import type { IncomingMessage, ServerResponse } from "node:http";
import { deleteItems } from "./items-delete.js";
import { getItems } from "./items-get.js";
import { matchItemsPath } from "./items-path.js";
import { upsertItems } from "./items-upsert.js";
import { lightningRoutes } from "./lightning-routes.js";
import type { RawRequest } from "./raw-request.js";

/** A hand-written handler (rather than tRPC or trpc-to-openapi). */
export type RawHandler = (req: IncomingMessage, res: ServerResponse, raw: RawRequest) => Promise<void>;

/** A path template served by hand-written handlers, one per method (HEAD is answered by GET's). */
export interface RawRoute {
  /** The OpenAPI path template: the route's label in logs and /metrics. */
  template: string;
  /** Whether a raw path (as sent, undecoded) is this template's. */
  match(path: string): boolean;
  methods: Partial<Record<string, RawHandler>>;
  /** Answers in the Lightning dialect's error body. */
  lightning?: true;
}

/** The item routes of SPEC §3 (streamed) and the Lightning dialect; the key segment may contain `/`. */
export const rawRoutes: RawRoute[] = [
  {
    template: "/collections/{name}",
    match: (path) => {
      const m = matchItemsPath(path);
      return m !== null && m.rawKey === undefined;
    },
    methods: { GET: getItems, POST: upsertItems, DELETE: deleteItems },
  },
  {
    template: "/collections/{name}/{key}",
    match: (path) => matchItemsPath(path)?.rawKey !== undefined,
    methods: { GET: getItems, DELETE: deleteItems },
  },
  ...lightningRoutes,
];

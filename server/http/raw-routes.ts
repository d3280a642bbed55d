import type { IncomingMessage, ServerResponse } from "node:http";
import { changesFeed } from "./items-changes.js";
import { deleteItems } from "./items-delete.js";
import { exportItems } from "./items-export.js";
import { getItems } from "./items-get.js";
import { importItems } from "./items-import.js";
import { matchItemsPath } from "./items-path.js";
import { putItem } from "./items-put.js";
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

/**
 * Words after `/collections/{name}/` that name a route, not a key (SPEC §9.3 to §9.5): every method of
 * such a path is the route's (405 with Allow for the others), so that one path has one meaning. They are
 * compared with the path as sent: a key of that name is addressed with a percent-encoded character
 * (`/collections/c/%63ount` is the key `count`, SPEC §3.6), and `count/` or `count/x` are keys.
 * `count` is served by trpc-to-openapi (the route table asks it after the raw routes), the others here.
 */
export const routeWords: ReadonlySet<string> = new Set(["count", "export", "import", "changes"]);

const keyRoute: RawRoute = {
  template: "/collections/{name}/{key}",
  match: (path) => {
    const rawKey = matchItemsPath(path)?.rawKey;
    return rawKey !== undefined && !routeWords.has(rawKey);
  },
  methods: { GET: getItems, PUT: putItem, DELETE: deleteItems },
};

/** `/collections/{name}/<word>` (one of routeWords, as sent) with its methods. */
function wordRoute(word: string, methods: RawRoute["methods"]): RawRoute {
  return {
    template: `/collections/{name}/${word}`,
    match: (path) => matchItemsPath(path)?.rawKey === word,
    methods,
  };
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
  wordRoute("export", { GET: exportItems }),
  wordRoute("import", { POST: importItems }),
  wordRoute("changes", { GET: changesFeed }),
  keyRoute,
  ...lightningRoutes,
];

import { deleteLightningItem, deleteLightningItems } from "./lightning-delete.js";
import { getLightningItem, listLightningItems } from "./lightning-read.js";
import { parseLightningPath } from "./lightning-respond.js";
import { postLightningItems, putLightningItem } from "./lightning-write.js";
import type { RawHandler, RawRoute } from "./raw-routes.js";

// The OpenFn Lightning dialect (SPEC §5) under /lightning/collections. Every answer there, errors
// included, carries Lightning's `{"error": …}` body (server/http/dispatch.ts picks it by the route).

const LIST = /^\/lightning\/collections\/[^/]+$/;
const ONE = /^\/lightning\/collections\/[^/]+\/.+$/s;

/** A handler of `/{name}`, its name decoded (404 for a name that cannot exist). */
const ofCollection =
  (handle: (...args: [...Parameters<RawHandler>, string]) => Promise<void>): RawHandler =>
  (req, res, raw) =>
    handle(req, res, raw, parseLightningPath(raw.target.path)!.name);

/** A handler of `/{name}/{key}`, both decoded once (the key may contain `/`). */
const ofItem =
  (handle: (...args: [...Parameters<RawHandler>, string, string]) => Promise<void>): RawHandler =>
  (req, res, raw) => {
    const { name, key } = parseLightningPath(raw.target.path)!;
    return handle(req, res, raw, name, key!);
  };

export const lightningRoutes: RawRoute[] = [
  {
    template: "/lightning/collections/{name}",
    lightning: true,
    match: (path) => LIST.test(path),
    methods: {
      GET: ofCollection(listLightningItems),
      POST: ofCollection(postLightningItems),
      DELETE: ofCollection(deleteLightningItems),
    },
  },
  {
    template: "/lightning/collections/{name}/{key}",
    lightning: true,
    match: (path) => ONE.test(path),
    methods: {
      GET: ofItem(getLightningItem),
      PUT: ofItem(putLightningItem),
      DELETE: ofItem(deleteLightningItem),
    },
  },
];

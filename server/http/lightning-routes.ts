import { notFound } from "../errors.js";
import { deleteLightningItem, deleteLightningItems } from "./lightning-delete.js";
import { getLightningItem, listLightningItems } from "./lightning-read.js";
import { LIGHTNING_PREFIX, parseLightningPath, sendLightningError } from "./lightning-respond.js";
import { postLightningItems, putLightningItem } from "./lightning-write.js";
import type { RawRoute } from "./raw-routes.js";

/**
 * The OpenFn Lightning dialect (SPEC §5) under /lightning/collections: every request there is answered
 * here, errors included, so that they all carry Lightning's `{"error": …}` body.
 */
export const lightningRoute: RawRoute = {
  name: "lightning",
  matches: (_method, pathname) => pathname === LIGHTNING_PREFIX || pathname.startsWith(LIGHTNING_PREFIX + "/"),
  async handle(req, res, url, services) {
    try {
      const method = req.method ?? "GET";
      const path = parseLightningPath(url.pathname);
      if (!path) throw notFound(`No route for ${method} ${url.pathname}`);
      const { name, key } = path;
      if (method === "GET" && key !== undefined) return await getLightningItem(req, res, url, services, name, key);
      if (method === "GET") return await listLightningItems(req, res, url, services, name);
      if (method === "PUT" && key !== undefined) return await putLightningItem(req, res, url, services, name, key);
      if (method === "POST" && key === undefined) return await postLightningItems(req, res, url, services, name);
      if (method === "DELETE" && key !== undefined) return await deleteLightningItem(req, res, url, services, name, key);
      if (method === "DELETE") return await deleteLightningItems(req, res, url, services, name);
      throw notFound(`No route for ${method} ${url.pathname}`);
    } catch (e) {
      sendLightningError(res, e, services.log);
    }
  },
};

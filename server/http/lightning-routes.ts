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
  matches: (_method, path) => path === LIGHTNING_PREFIX || path.startsWith(LIGHTNING_PREFIX + "/"),
  async handle(req, res, raw) {
    try {
      const method = req.method ?? "GET";
      const path = parseLightningPath(raw.target.path);
      if (!path) throw notFound(`No route for ${method} ${raw.target.path}`);
      const { name, key } = path;
      if (method === "GET" && key !== undefined) return await getLightningItem(req, res, raw, name, key);
      if (method === "GET") return await listLightningItems(req, res, raw, name);
      if (method === "PUT" && key !== undefined) return await putLightningItem(req, res, raw, name, key);
      if (method === "POST" && key === undefined) return await postLightningItems(req, res, raw, name);
      if (method === "DELETE" && key !== undefined) return await deleteLightningItem(req, res, raw, name, key);
      if (method === "DELETE") return await deleteLightningItems(req, res, raw, name);
      throw notFound(`No route for ${method} ${raw.target.path}`);
    } catch (e) {
      sendLightningError(res, e, raw.services.log);
    }
  },
};

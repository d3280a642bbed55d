import * as deleteItems from "../../contracts/items/delete-items.js";
import { errorFields } from "../log.js";
import { resolveCollection } from "../services/access.js";
import { filterFromParams } from "../services/item-requests.js";
import { deleteItemsBatches } from "../services/items.js";
import { parseParams, parseQueryString } from "./params.js";
import type { RawRoute } from "./raw-routes.js";
import { decodeItemsPath, matchItemsPath } from "./items-path.js";
import { collectionLookahead, decodedSegment } from "./lookahead.js";
import { sendError } from "./respond.js";
import { holdStreamSlot } from "./stream-slots.js";
import { clientGone, JsonStreamWriter } from "./stream-writer.js";
import { setImmediate as yieldToIo } from "node:timers/promises";

/**
 * DELETE /collections/{name}[/{key}] (SPEC §3.3): deletes in batches and streams the deleted keys,
 * then the count: `{"keys": [...], "deleted": n}`. Without a key it needs the deleteAll action.
 * When the client goes away, no further batch is deleted.
 */
export const deleteItemsRoute: RawRoute = {
  name: "items.delete",
  matches: (method, pathname) => method === "DELETE" && matchItemsPath(pathname) !== null,
  async handle(req, res, url, services) {
    const { env, log, db } = services;
    const path = matchItemsPath(url.pathname)!;
    const principal = await services.auth.authenticate(req.headers.authorization, collectionLookahead(decodedSegment(path.rawName), url));
    holdStreamSlot(services, principal, res);
    const { name, key } = decodeItemsPath(path);
    const params = parseParams(deleteItems.query, parseQueryString(url.search));
    const filter = filterFromParams(env, key, params);
    const collection = await resolveCollection(db.sql, principal, name, params.project_id, key === undefined ? "deleteAll" : "write");
    const signal = clientGone(req, res);
    const batches = deleteItemsBatches(db.sql, collection.id, filter, { batchSize: env.DELETE_BATCH_SIZE, signal });
    let next = await batches.next();
    const out = new JsonStreamWriter(res, signal);
    try {
      await out.push('{"keys":[');
      let first = true;
      while (!next.done) {
        for (const k of next.value) {
          await out.push(first ? JSON.stringify(k) : "," + JSON.stringify(k));
          first = false;
        }
        await out.flush();
        await yieldToIo(); // the embedded database answers without I/O: let a disconnect be noticed
        next = await batches.next();
      }
      if (next.value.aborted) return;
      await out.end(`],"deleted":${next.value.count}}`);
    } catch (e) {
      if (res.headersSent) log.error("delete stream failed after the response started; aborting it", { path: url.pathname, ...errorFields(e) });
      sendError(res, e, log);
    }
  },
};

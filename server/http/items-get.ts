import * as getItems from "../../contracts/items/get-items.js";
import { errorFields } from "../log.js";
import { itemJson } from "../services/items.js";
import { planFetch } from "../services/item-requests.js";
import { parseParams, parseQueryString } from "./params.js";
import type { RawRoute } from "./raw-routes.js";
import { decodeItemsPath, matchItemsPath } from "./items-path.js";
import { collectionLookahead, decodedSegment } from "./lookahead.js";
import { sendError } from "./respond.js";
import { holdStreamSlot } from "./stream-slots.js";
import { clientGone, JsonStreamWriter } from "./stream-writer.js";

/**
 * GET /collections/{name}[/{key}] (SPEC §3.1), streamed: the first batch is read before the status
 * line (so early failures get a proper error), then each batch is written as it arrives.
 */
export const getItemsRoute: RawRoute = {
  name: "items.get",
  matches: (method, pathname) => method === "GET" && matchItemsPath(pathname) !== null,
  async handle(req, res, url, services) {
    const { env, log, db } = services;
    const path = matchItemsPath(url.pathname)!;
    const principal = await services.auth.authenticate(req.headers.authorization, collectionLookahead(decodedSegment(path.rawName), url, decodedSegment(path.rawKey)));
    holdStreamSlot(services, principal, res);
    const { name, key } = decodeItemsPath(path);
    const params = parseParams(getItems.query, parseQueryString(url.search));
    const plan = await planFetch(db.sql, env, principal, { ...params, name, key });
    const signal = clientGone(req, res);
    const batches = plan.stream(signal);
    let next = await batches.next();
    const out = new JsonStreamWriter(res, signal);
    try {
      await out.push('{"results":[');
      let first = true;
      while (!next.done) {
        for (const row of next.value) {
          await out.push(first ? itemJson(row, plan.meta) : "," + itemJson(row, plan.meta));
          first = false;
        }
        await out.flush();
        next = await batches.next();
      }
      const end = next.value;
      if (end.aborted) return;
      await out.end(`],"end_offset":${plan.startOffset + end.count},"cursor":${JSON.stringify(plan.nextCursor(end))}}`);
    } catch (e) {
      if (res.headersSent) log.error("item stream failed after the response started; aborting it", { path: url.pathname, ...errorFields(e) });
      await batches.return(undefined as never).catch(() => {});
      sendError(res, e, log);
    }
  },
};

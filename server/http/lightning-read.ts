import type { IncomingMessage, ServerResponse } from "node:http";
import * as getItemContract from "../../contracts/lightning/get-item.js";
import * as listItems from "../../contracts/lightning/list-items.js";
import type { Services } from "../context.js";
import { badRequest } from "../errors.js";
import { errorFields } from "../log.js";
import { lookaheadItem, resolveCollection } from "../services/access.js";
import { getItem, streamItems } from "../services/items.js";
import { decodeLightningCursor, encodeLightningCursor, lightningFilter, lightningItemJson, wireValue } from "../services/lightning-wire.js";
import { keyProblem } from "../services/patterns.js";
import { parseParams, parseQueryString } from "./params.js";
import { collectionLookahead } from "./lookahead.js";
import { sendLightningError } from "./lightning-respond.js";
import { sendJson } from "./respond.js";
import { holdStreamSlot } from "./stream-slots.js";
import { clientGone, JsonStreamWriter } from "./stream-writer.js";

/** GET /lightning/collections/{name}/{key}: 200 with the item, or 204 and an empty body when the key is missing. */
export async function getLightningItem(req: IncomingMessage, res: ServerResponse, url: URL, services: Services, name: string, key: string): Promise<void> {
  const { env, db } = services;
  const principal = await services.auth.authenticate(req.headers.authorization, collectionLookahead(name, url, key));
  const params = parseParams(getItemContract.query, parseQueryString(url.search));
  const problem = keyProblem(key, env.MAX_KEY_LENGTH);
  if (problem) throw badRequest(`Invalid key: ${problem}`);
  const collection = await resolveCollection(db.sql, principal, name, params.project_id, "read");
  const ahead = lookaheadItem(principal, collection.id, key);
  const row = ahead !== undefined ? ahead : await getItem(db.sql, collection.id, key);
  if (!row) {
    res.writeHead(204, { "cache-control": "no-store" });
    res.end();
    return;
  }
  sendJson(res, 200, { key: row.key, value: wireValue(row.value), created: row.created, updated: row.updated });
}

/**
 * GET /lightning/collections/{name}?key=…: `{"items":[…],"cursor":…}`, streamed. Every batch is flushed,
 * so the tail (with the cursor) is one small write of its own: the official client mis-reads a cursor
 * whose bytes arrive in two network reads.
 */
export async function listLightningItems(req: IncomingMessage, res: ServerResponse, url: URL, services: Services, name: string): Promise<void> {
  const { env, log, db } = services;
  const principal = await services.auth.authenticate(req.headers.authorization, collectionLookahead(name, url));
  holdStreamSlot(services, principal, res);
  const params = parseParams(listItems.query, parseQueryString(url.search));
  const filter = lightningFilter(env, params.key, params);
  const max = env.MAX_RESULT_LIMIT;
  if (params.limit !== undefined && max !== undefined && params.limit > max) throw badRequest(`Invalid parameter "limit": must be at most ${max} (MAX_RESULT_LIMIT)`);
  const limit = params.limit ?? Math.min(listItems.DEFAULT_LIMIT, max ?? Infinity);
  const afterSeq = params.cursor === undefined ? undefined : decodeLightningCursor(params.cursor);
  const collection = await resolveCollection(db.sql, principal, name, params.project_id, "read");
  const signal = clientGone(req, res);
  const batches = streamItems(db.sql, collection.id, filter, { afterSeq, limit, batchSize: env.STREAM_BATCH_SIZE, signal });
  let next = await batches.next();
  const out = new JsonStreamWriter(res, signal, { tailApart: true });
  try {
    await out.push('{"items":[');
    let first = true;
    while (!next.done) {
      for (const row of next.value) {
        await out.push(first ? lightningItemJson(row) : "," + lightningItemJson(row));
        first = false;
      }
      await out.flush();
      next = await batches.next();
    }
    const end = next.value;
    if (end.aborted) return;
    const cursor = end.hasMore && end.lastSeq !== null ? `"${encodeLightningCursor(end.lastSeq)}"` : "null";
    await out.end(`],"cursor":${cursor}}`);
  } catch (e) {
    if (res.headersSent) log.error("lightning item stream failed after the response started; aborting it", { path: url.pathname, ...errorFields(e) });
    await batches.return(undefined as never).catch(() => {});
    sendLightningError(res, e, log);
  }
}

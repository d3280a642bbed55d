import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import * as deleteItemContract from "../../contracts/lightning/delete-item.js";
import * as deleteItemsContract from "../../contracts/lightning/delete-items.js";
import type { Services } from "../context.js";
import { badRequest } from "../errors.js";
import { resolveCollection } from "../services/access.js";
import { deleteItem, deleteItemsBatches } from "../services/items.js";
import { lightningFilter } from "../services/lightning-wire.js";
import { keyProblem } from "../services/patterns.js";
import { parseParams, parseQueryString } from "./params.js";
import { collectionLookahead } from "./lookahead.js";
import { sendJson } from "./respond.js";
import { holdStreamSlot } from "./stream-slots.js";
import { clientGone } from "./stream-writer.js";
import { setImmediate as yieldToIo } from "node:timers/promises";

/** DELETE /lightning/collections/{name}/{key}: 200 `{key, deleted: 1, error: null}`, or `deleted: 0, error: "Item Not Found"`. */
export async function deleteLightningItem(req: IncomingMessage, res: ServerResponse, url: URL, services: Services, name: string, key: string): Promise<void> {
  const { env, db } = services;
  const principal = await services.auth.authenticate(req.headers.authorization, collectionLookahead(name, url));
  const params = parseParams(deleteItemContract.query, parseQueryString(url.search));
  const problem = keyProblem(key, env.MAX_KEY_LENGTH);
  if (problem) throw badRequest(`Invalid key: ${problem}`);
  const collection = await resolveCollection(db.sql, principal, name, params.project_id, "write");
  const deleted = await deleteItem(db.sql, collection.id, key);
  const body: z.infer<typeof deleteItemContract.output> = deleted ? { key, deleted: 1, error: null } : { key, deleted: 0, error: "Item Not Found" };
  sendJson(res, 200, body);
}

/**
 * DELETE /lightning/collections/{name}?key=<pattern>: deletes the matching items in batches (constant
 * memory) and answers the count. Without `key` every item goes, which needs the deleteAll action.
 */
export async function deleteLightningItems(req: IncomingMessage, res: ServerResponse, url: URL, services: Services, name: string): Promise<void> {
  const { env, db } = services;
  const principal = await services.auth.authenticate(req.headers.authorization, collectionLookahead(name, url));
  holdStreamSlot(services, principal, res);
  const params = parseParams(deleteItemsContract.query, parseQueryString(url.search));
  const filter = lightningFilter(env, params.key, params);
  const action = params.key === undefined ? "deleteAll" : "write";
  const collection = await resolveCollection(db.sql, principal, name, params.project_id, action);
  const batches = deleteItemsBatches(db.sql, collection.id, filter, { batchSize: env.DELETE_BATCH_SIZE, signal: clientGone(req, res) });
  let next = await batches.next();
  while (!next.done) {
    await yieldToIo(); // the embedded database answers without I/O: let a disconnect be noticed
    next = await batches.next();
  }
  const body: z.infer<typeof deleteItemsContract.output> = { key: params.key ?? null, deleted: next.value.count, error: null };
  sendJson(res, 200, body);
}

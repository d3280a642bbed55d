import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import * as deleteItemContract from "../../contracts/lightning/delete-item.js";
import * as deleteItemsContract from "../../contracts/lightning/delete-items.js";
import { deleteOne, planDelete } from "../services/item-operations.js";
import { readJsonBody, smallBodyLimits } from "./body.js";
import { parseParams } from "./params.js";
import { openLightningRequest, type RawRequest } from "./raw-request.js";
import { sendJson } from "./respond.js";
import { holdStreamSlot } from "./stream-slots.js";
import { clientGone } from "./stream-writer.js";
import { setImmediate as yieldToIo } from "node:timers/promises";

/** DELETE /lightning/collections/{name}/{key}: 200 `{key, deleted: 1, error: null}`, or `deleted: 0, error: "Item Not Found"`. */
export async function deleteLightningItem(
  req: IncomingMessage,
  res: ServerResponse,
  raw: RawRequest,
  name: string,
  key: string,
): Promise<void> {
  const { caller, query } = await openLightningRequest(raw, name, key);
  const params = parseParams(deleteItemContract.query, query);
  const deleted = await deleteOne(caller, { name, project_id: params.project_id }, key);
  const body: z.infer<typeof deleteItemContract.output> = deleted
    ? { key, deleted: 1, error: null }
    : { key, deleted: 0, error: "Item Not Found" };
  sendJson(res, 200, body);
}

/** The pattern of `DELETE /{name}` when the query has none: a JSON body `{"key": …}`, if one was sent (SPEC §5). */
async function patternFromBody(req: IncomingMessage, raw: RawRequest): Promise<string | undefined> {
  if (!req.headers["content-type"] && !(Number(req.headers["content-length"]) > 0)) return undefined;
  const body = (await readJsonBody(req, smallBodyLimits(raw.services.env))).value;
  const key = body !== null && typeof body === "object" ? (body as { key?: unknown }).key : undefined;
  return typeof key === "string" ? key : undefined;
}

/**
 * DELETE /lightning/collections/{name}?key=<pattern>: deletes the matching items in batches (constant
 * memory) and answers the count. Without a pattern every item goes, which needs the deleteAll action.
 */
export async function deleteLightningItems(
  req: IncomingMessage,
  res: ServerResponse,
  raw: RawRequest,
  name: string,
): Promise<void> {
  const { principal, caller, query } = await openLightningRequest(raw, name);
  holdStreamSlot(raw.services, principal, res);
  const params = parseParams(deleteItemsContract.query, query);
  const key = params.key ?? (await patternFromBody(req, raw));
  const plan = await planDelete(caller, { ...params, name, key }, "lightning");
  const batches = plan.batches(clientGone(req, res));
  let next = await batches.next();
  while (!next.done) {
    await yieldToIo(); // the embedded database answers without I/O: let a disconnect be noticed
    next = await batches.next();
  }
  const body: z.infer<typeof deleteItemsContract.output> = {
    key: key ?? null,
    deleted: next.value.count,
    error: null,
  };
  sendJson(res, 200, body);
}

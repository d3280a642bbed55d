import type { IncomingMessage, ServerResponse } from "node:http";
import * as getItemContract from "../../contracts/lightning/get-item.js";
import * as listItems from "../../contracts/lightning/list-items.js";
import { planFetch, readItem } from "../services/item-operations.js";
import { lightningItemJsonPieces, wireValue } from "../services/lightning-wire.js";
import { parseParams } from "./params.js";
import { openLightningRequest, type RawRequest } from "./raw-request.js";
import { sendJson } from "./respond.js";
import { holdStreamSlot } from "./stream-slots.js";
import { answerStreamHead, clientGone, writeJsonStream } from "./stream-writer.js";

/** GET /lightning/collections/{name}/{key}: 200 with the item, or 204 and an empty body when the key is missing. */
export async function getLightningItem(
  req: IncomingMessage,
  res: ServerResponse,
  raw: RawRequest,
  name: string,
  key: string,
): Promise<void> {
  const { caller, query } = await openLightningRequest(raw, name, key, { readKey: true });
  const params = parseParams(getItemContract.query, query);
  const row = await readItem(caller, { name, project_id: params.project_id }, key);
  if (!row) {
    res.writeHead(204, { "cache-control": "no-store" });
    res.end();
    return;
  }
  sendJson(res, 200, {
    key: row.key,
    value: wireValue(row.value),
    created: row.created,
    updated: row.updated,
  });
}

/**
 * GET /lightning/collections/{name}?key=…: `{"items":[…],"cursor":…}`, streamed. The tail (with the
 * cursor) is a write of its own: the official client mis-reads a cursor whose bytes arrive in two reads.
 * HEAD checks the same and reads no item.
 */
export async function listLightningItems(
  req: IncomingMessage,
  res: ServerResponse,
  raw: RawRequest,
  name: string,
): Promise<void> {
  const { principal, caller, query } = await openLightningRequest(raw, name);
  if (!raw.scope.head) holdStreamSlot(raw.services, principal, res);
  const plan = await planFetch(caller, { ...parseParams(listItems.query, query), name }, "lightning", {
    defaultLimit: listItems.DEFAULT_LIMIT,
  });
  if (raw.scope.head) return answerStreamHead(res);
  const signal = clientGone(req, res);
  await writeJsonStream(res, signal, {
    head: '{"items":[',
    batches: plan.stream(signal),
    row: lightningItemJsonPieces,
    tail: (end) => {
      if (end.aborted) return undefined;
      const cursor = plan.nextCursor(end);
      return `],"cursor":${cursor === null ? "null" : `"${cursor}"`}}`;
    },
    tailApart: true,
  });
}

import * as getItemsContract from "../../contracts/items/get-items.js";
import { planFetch } from "../services/item-operations.js";
import { itemJsonPieces } from "../services/items.js";
import { parseParams } from "./params.js";
import { openItemRequest } from "./raw-request.js";
import type { RawHandler } from "./raw-routes.js";
import { holdStreamSlot } from "./stream-slots.js";
import { answerStreamHead, clientGone, writeJsonStream } from "./stream-writer.js";

/**
 * GET /collections/{name}[/{key}] (SPEC §3.1), streamed: `{"results": [...], "end_offset", "cursor"}`.
 * HEAD checks the same (caller, collection, parameters) and reads no item.
 */
export const getItems: RawHandler = async (req, res, raw) => {
  const { principal, caller, query, name, key } = await openItemRequest(raw, { readKey: true });
  if (!raw.scope.head) holdStreamSlot(raw.services, principal, res);
  const plan = await planFetch(caller, { ...parseParams(getItemsContract.query, query), name, key }, "rest");
  if (raw.scope.head) return answerStreamHead(res);
  const signal = clientGone(req, res);
  await writeJsonStream(res, signal, {
    head: '{"results":[',
    batches: plan.stream(signal),
    row: (row) => itemJsonPieces(row, plan.meta),
    tail: (end) =>
      end.aborted
        ? undefined
        : `],"end_offset":${plan.startOffset + end.count},"cursor":${JSON.stringify(plan.nextCursor(end))}}`,
  });
};

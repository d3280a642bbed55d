import * as deleteItemsContract from "../../contracts/items/delete-items.js";
import { planDelete } from "../services/item-operations.js";
import { parseParams } from "./params.js";
import { openItemRequest } from "./raw-request.js";
import type { RawHandler } from "./raw-routes.js";
import { holdStreamSlot } from "./stream-slots.js";
import { clientGone, writeJsonStream } from "./stream-writer.js";

/**
 * DELETE /collections/{name}[/{key}] (SPEC §3.3): deletes in batches and streams the deleted keys, then
 * the count: `{"keys": [...], "deleted": n}`. When the client goes away, no further batch is deleted.
 */
export const deleteItems: RawHandler = async (req, res, raw) => {
  const { principal, caller, query, name, key } = await openItemRequest(raw);
  holdStreamSlot(raw.services, principal, res);
  const plan = await planDelete(
    caller,
    { ...parseParams(deleteItemsContract.query, query), name, key },
    "rest",
  );
  const signal = clientGone(req, res);
  await writeJsonStream(res, signal, {
    head: '{"keys":[',
    batches: plan.batches(signal),
    row: (deleted: string) => JSON.stringify(deleted),
    tail: (end) => (end.aborted ? undefined : `],"deleted":${end.count}}`),
  });
};

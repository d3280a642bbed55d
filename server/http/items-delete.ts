import * as deleteItemsContract from "../../contracts/items/delete-items.js";
import { deleteOneIf, planDelete } from "../services/item-operations.js";
import { deleteCondition } from "./conditional.js";
import { parseParams } from "./params.js";
import { openItemRequest } from "./raw-request.js";
import { sendJson } from "./respond.js";
import type { RawHandler } from "./raw-routes.js";
import { holdStreamSlot } from "./stream-slots.js";
import { clientGone, writeJsonStream } from "./stream-writer.js";

/**
 * DELETE /collections/{name}[/{key}] (SPEC §3.3): deletes in batches and streams the deleted keys, then
 * the count: `{"keys": [...], "deleted": n}`. When the client goes away, no further batch is deleted.
 * `dry_run` answers the same for what would be deleted; `max_affected` refuses (409) before the status line.
 * With If-Match (SPEC §9.1), the one item of an exact key, at that version (`*`: if it exists), or 412.
 */
export const deleteItems: RawHandler = async (req, res, raw) => {
  const { principal, caller, query, name, key } = await openItemRequest(raw);
  const condition = deleteCondition(req.headers);
  if (condition) {
    const params = parseParams(deleteItemsContract.query, query);
    return sendJson(res, 200, await deleteOneIf(caller, { ...params, name, key }, condition, "If-Match"));
  }
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

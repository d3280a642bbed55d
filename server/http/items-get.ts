import * as getItems from "../../contracts/items/get-items.js";
import { planFetch } from "../services/item-operations.js";
import { itemJson } from "../services/items.js";
import { matchItemsPath } from "./items-path.js";
import { parseParams } from "./params.js";
import { openItemRequest } from "./raw-request.js";
import type { RawRoute } from "./raw-routes.js";
import { holdStreamSlot } from "./stream-slots.js";
import { clientGone, writeJsonStream } from "./stream-writer.js";

/** GET /collections/{name}[/{key}] (SPEC §3.1), streamed: `{"results": [...], "end_offset", "cursor"}`. */
export const getItemsRoute: RawRoute = {
  name: "items.get",
  matches: (method, path) => method === "GET" && matchItemsPath(path) !== null,
  async handle(req, res, raw) {
    const { principal, caller, query, name, key } = await openItemRequest(raw, { readKey: true });
    holdStreamSlot(raw.services, principal, res);
    const plan = await planFetch(caller, { ...parseParams(getItems.query, query), name, key }, "rest");
    const signal = clientGone(req, res);
    await writeJsonStream(res, signal, {
      head: '{"results":[',
      batches: plan.stream(signal),
      row: (row) => itemJson(row, plan.meta),
      tail: (end) => (end.aborted ? undefined : `],"end_offset":${plan.startOffset + end.count},"cursor":${JSON.stringify(plan.nextCursor(end))}}`),
    });
  },
};

import * as exportItemsContract from "../../contracts/items/export-items.js";
import { exportFraming, exportHeaders, exportPieces } from "../services/item-export.js";
import { planFetch } from "../services/item-operations.js";
import { parseParams } from "./params.js";
import { openItemRequest } from "./raw-request.js";
import type { RawHandler } from "./raw-routes.js";
import { holdStreamSlot } from "./stream-slots.js";
import { clientGone, readAhead, writeJsonStream } from "./stream-writer.js";

/**
 * GET /collections/{name}/export (SPEC §9.4): every matching item, oldest first, as NDJSON (one
 * `{"key","value","created","updated","version"}` per line) or, with format=json-array, one JSON array;
 * streamed in batches with backpressure (the read of SPEC §3.1 without limit, cursor or offset), saved by
 * a browser under `<name>.ndjson` / `<name>.json`. HEAD checks the same and reads no item.
 */
export const exportItems: RawHandler = async (req, res, raw) => {
  const { principal, caller, query, name } = await openItemRequest(raw);
  if (!raw.scope.head) holdStreamSlot(raw.services, principal, res);
  const { format = "ndjson", ...filters } = parseParams(exportItemsContract.query, query);
  const plan = await planFetch(caller, { ...filters, name }, "rest");
  const headers = exportHeaders(name, format);
  if (raw.scope.head) {
    res.writeHead(200, headers);
    res.end();
    return;
  }
  const framing = exportFraming[format];
  const signal = clientGone(req, res);
  if (plan.copy) {
    // A whole collection on a PostgreSQL server: read with COPY, framed by batches (server/services/item-copy.ts).
    await writeJsonStream(res, signal, {
      headers,
      head: framing.head,
      separator: framing.separator,
      batches: readAhead(plan.copy(signal, { separator: framing.separator, after: framing.after })),
      row: (text) => text,
      tail: (end) => (end.aborted ? undefined : framing.tail),
    });
    return;
  }
  await writeJsonStream(res, signal, {
    headers,
    head: framing.head,
    separator: framing.separator,
    batches: plan.stream(signal),
    row: (row) => {
      const pieces = exportPieces(row);
      if (framing.after) pieces[2] += framing.after;
      return pieces;
    },
    tail: (end) => (end.aborted ? undefined : framing.tail),
  });
};

import * as importItemsContract from "../../contracts/items/import-items.js";
import { AppError } from "../errors.js";
import { importItems as runImport } from "../services/item-import.js";
import { parseParams } from "./params.js";
import { openItemRequest } from "./raw-request.js";
import type { RawHandler } from "./raw-routes.js";
import { sendJson } from "./respond.js";
import { clientGone } from "./stream-writer.js";

/** The content types of an NDJSON body (application/json too, for clients that say nothing more precise). */
const NDJSON_TYPES = new Set([
  "application/x-ndjson",
  "application/ndjson",
  "application/jsonl",
  "application/x-jsonlines",
  "application/jsonlines",
  "application/json",
]);

/**
 * POST /collections/{name}/import (SPEC §9.4): the caller is authenticated and the collection resolved
 * for writing before the body is read; the NDJSON body is then read line by line as it arrives (no
 * MAX_BODY_BYTES: any length, each line limited) and written in batches. 201 when a key was created,
 * 200 otherwise, 422 when nothing was written because of bad lines (the same body shape).
 */
export const importItems: RawHandler = async (req, res, raw) => {
  const { caller, query, name } = await openItemRequest(raw);
  const { mode = "upsert", atomic = false, project_id } = parseParams(importItemsContract.query, query);
  const type = req.headers["content-type"]?.split(";")[0]!.trim().toLowerCase();
  if (!type || !NDJSON_TYPES.has(type)) {
    throw new AppError(
      "UNSUPPORTED_MEDIA_TYPE",
      `Content-Type must be application/x-ndjson${req.headers["content-type"] ? `, not '${req.headers["content-type"]}'` : ""}`,
    );
  }
  // An early answer (413 of an atomic import) must still reach the client: leaving the loop over the
  // body must not destroy the request (and its socket); the answer then closes the connection.
  const gone = clientGone(req, res);
  let result;
  try {
    result = await runImport(caller, { name, project_id }, () => req.iterator({ destroyOnReturn: false }), {
      mode,
      atomic,
    });
  } catch (e) {
    // The client went away mid-body: nobody to answer (the request line logs it as aborted); the batches
    // written so far stay written, as documented.
    if (gone.aborted) return;
    throw e;
  }
  const { status, ...body } = result;
  sendJson(res, status, body);
};

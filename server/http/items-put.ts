import * as putItemContract from "../../contracts/items/put-item.js";
import { putItem as put } from "../services/item-operations.js";
import { itemBodyLimits, readJsonBody } from "./body.js";
import { etagOf, putCondition } from "./conditional.js";
import { parseParams } from "./params.js";
import { openItemRequest } from "./raw-request.js";
import type { RawHandler } from "./raw-routes.js";
import { sendJson } from "./respond.js";

/**
 * PUT /collections/{name}/{key} (SPEC §9.1): the body is the value, stored as its exact text (as POST
 * stores a value); If-Match / If-None-Match: * make the write conditional (412 with `current_version`).
 * 201 created / 200 updated, `{key, version, created, updated, expires}` and `ETag: "<version>"`.
 */
export const putItem: RawHandler = async (req, res, raw) => {
  const { caller, query, name, key } = await openItemRequest(raw);
  const params = parseParams(putItemContract.query, query);
  const condition = putCondition(req.headers);
  const { status, item } = await put(caller, { ...params, name, key: key!, condition }, async () =>
    (await readJsonBody(req, itemBodyLimits(raw.services.env))).rootText(),
  );
  sendJson(res, status, item, { etag: etagOf(item.version) });
};

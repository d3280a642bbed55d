import * as upsertItemsContract from "../../contracts/items/upsert-items.js";
import { badRequest } from "../errors.js";
import { upsert, type UpsertSource } from "../services/item-operations.js";
import type { ParsedJsonBody } from "../services/json-text.js";
import { itemBodyLimits, readJsonBody } from "./body.js";
import { parseParams } from "./params.js";
import { openItemRequest } from "./raw-request.js";
import type { RawHandler } from "./raw-routes.js";
import { sendJson } from "./respond.js";

/** The items of an upsert body (a JSON array, or `{"items": [...]}`), each value as the exact text sent. */
export function upsertSource(body: ParsedJsonBody): UpsertSource {
  const { value } = body;
  const items = Array.isArray(value)
    ? value
    : value && typeof value === "object" && Array.isArray((value as { items?: unknown }).items)
      ? (value as { items: unknown[] }).items
      : undefined;
  if (!items)
    throw badRequest(
      'The body must be a JSON array of {"key", "value"} objects, or an object {"items": [...]} with that array',
    );
  return { items, valueText: (item) => body.rawText(item, "value") };
}

/** POST /collections/{name} (SPEC §3.2): 201 when a key was created, 200 otherwise, 422 when nothing was valid. */
export const upsertItems: RawHandler = async (req, res, raw) => {
  const { caller, query, name } = await openItemRequest(raw);
  const params = parseParams(upsertItemsContract.query, query);
  const result = await upsert(caller, { name, project_id: params.project_id }, async () =>
    upsertSource(await readJsonBody(req, itemBodyLimits(raw.services.env))),
  );
  sendJson(res, result.status, { upserted: result.upserted, errors: result.errors });
};

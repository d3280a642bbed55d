import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import * as postItems from "../../contracts/lightning/post-items.js";
import * as putItem from "../../contracts/lightning/put-item.js";
import { upsert, type UpsertResult } from "../services/item-operations.js";
import type { ParsedJsonBody } from "../services/json-text.js";
import { itemBodyLimits, readJsonBody } from "./body.js";
import { parseParams } from "./params.js";
import { openLightningRequest, type RawRequest } from "./raw-request.js";
import { sendJson } from "./respond.js";

type UpsertAnswer = z.infer<typeof putItem.output>;

/** A body Lightning refuses as a whole: 422 `{"upserted": 0, "error": …}`, nothing written. */
class Rejected extends Error {}

/** The first problem of a body, in Lightning's words for a missing field. */
function bodyProblem(body: unknown, issues: readonly z.core.$ZodIssue[]): string {
  const issue = issues[0]!;
  if (issue.path.length === 0) return "The body must be a JSON object";
  let at: unknown = body;
  for (const p of issue.path)
    at = at !== null && typeof at === "object" ? (at as Record<PropertyKey, unknown>)[p] : undefined;
  const where = issue.path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
  return at === undefined ? `Missing required field: ${where}` : `Invalid field ${where}: ${issue.message}`;
}

/** The body checked against a Lightning schema (values are strings on this wire); Rejected otherwise. */
function checked<S extends z.ZodType>(schema: S, body: ParsedJsonBody): z.output<S> {
  const parsed = schema.safeParse(body.value);
  if (!parsed.success) throw new Rejected(bodyProblem(body.value, parsed.error.issues));
  return parsed.data;
}

/** Lightning's answer to an upsert: 200 `{upserted, error: null}`, or 422 naming the first problem (nothing written). */
function answer(res: ServerResponse, result: UpsertResult, single: boolean): void {
  if (result.errors.length === 0)
    return sendJson(res, 200, { upserted: result.upserted, error: null } satisfies UpsertAnswer);
  const e = result.errors[0]!;
  const error = result.duplicateKey
    ? "Duplicate key found"
    : single
      ? e.message
      : `item ${e.index}${e.key === null ? "" : ` (key ${JSON.stringify(e.key)})`}: ${e.message}`;
  sendJson(res, 422, { upserted: 0, error } satisfies UpsertAnswer);
}

/**
 * Writes the items of a Lightning body, all or nothing, each wire string stored as a JSON string (README,
 * Interop): the string's JSON text is the text of its `value` member as sent.
 */
async function write(
  req: IncomingMessage,
  res: ServerResponse,
  raw: RawRequest,
  name: string,
  itemsOf: (body: ParsedJsonBody) => object[],
): Promise<void> {
  const { caller, query } = await openLightningRequest(raw, name);
  const params = parseParams(postItems.query, query);
  let single = false;
  try {
    const result = await upsert(
      caller,
      { name, project_id: params.project_id },
      async () => {
        const body = await readJsonBody(req, itemBodyLimits(raw.services.env));
        const items = itemsOf(body);
        single = items.length === 1;
        return { items, valueText: (item) => body.rawText(item, "value") };
      },
      { allOrNothing: true },
    );
    answer(res, result, single);
  } catch (e) {
    if (e instanceof Rejected)
      return sendJson(res, 422, { upserted: 0, error: e.message } satisfies UpsertAnswer);
    throw e;
  }
}

/** PUT /lightning/collections/{name}/{key} {"value": "<string>"} → 200 {"upserted": 1, "error": null}. */
export function putLightningItem(
  req: IncomingMessage,
  res: ServerResponse,
  raw: RawRequest,
  name: string,
  key: string,
): Promise<void> {
  return write(req, res, raw, name, (body) => {
    checked(putItem.body, body);
    // The body object is the item: the key is the path's, the value's text is that body's `value` member.
    const item = body.value as { key?: string };
    item.key = key;
    return [item];
  });
}

/** POST /lightning/collections/{name} {"items": [{key, value}]} → 200 {"upserted": n, "error": null}; 422 when invalid. */
export function postLightningItems(
  req: IncomingMessage,
  res: ServerResponse,
  raw: RawRequest,
  name: string,
): Promise<void> {
  return write(req, res, raw, name, (body) => {
    checked(postItems.body, body);
    return (body.value as { items: object[] }).items;
  });
}

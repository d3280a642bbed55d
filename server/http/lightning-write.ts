import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import * as postItems from "../../contracts/lightning/post-items.js";
import * as putItem from "../../contracts/lightning/put-item.js";
import type { Services } from "../context.js";
import { resolveCollection } from "../services/access.js";
import { validateUpsertItems } from "../services/item-requests.js";
import { upsertItems } from "../services/items.js";
import { readJsonBody } from "./body.js";
import { parseParams, parseQueryString } from "./params.js";
import { collectionLookahead } from "./lookahead.js";
import { sendJson } from "./respond.js";

type UpsertResult = z.infer<typeof putItem.output>;

const rejected = (res: ServerResponse, error: string) => sendJson(res, 422, { upserted: 0, error } satisfies UpsertResult);

/** The first problem of a body, in Lightning's words for a missing field. */
function bodyProblem(body: unknown, issues: readonly z.core.$ZodIssue[]): string {
  const issue = issues[0]!;
  if (issue.path.length === 0) return "The body must be a JSON object";
  let at: unknown = body;
  for (const p of issue.path) at = at !== null && typeof at === "object" ? (at as Record<PropertyKey, unknown>)[p] : undefined;
  const where = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
  return at === undefined ? `Missing required field: ${where}` : `Invalid field ${where}: ${issue.message}`;
}

/**
 * Validates and writes items whose values are wire strings, each stored as a JSON string (README,
 * Interop). Answers 422 `{"upserted": 0, "error": …}` and writes nothing when any item is invalid.
 */
async function writeItems(res: ServerResponse, services: Services, collectionId: string, items: { key: string; value: string }[]): Promise<void> {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.key)) return rejected(res, "Duplicate key found");
    seen.add(item.key);
  }
  // A string value's valueJson is JSON.stringify(value): the wire string stored as a JSON string.
  const { valid, errors } = validateUpsertItems(services.env, items);
  if (errors.length > 0) {
    const e = errors[0]!;
    return rejected(res, items.length === 1 ? e.message : `item ${e.index}${e.key === null ? "" : ` (key ${JSON.stringify(e.key)})`}: ${e.message}`);
  }
  const outcome = valid.length ? await upsertItems(services.db.sql, collectionId, valid) : { written: 0 };
  sendJson(res, 200, { upserted: outcome.written, error: null } satisfies UpsertResult);
}

/** PUT /lightning/collections/{name}/{key} {"value": "<string>"} → 200 {"upserted": 1, "error": null}. */
export async function putLightningItem(req: IncomingMessage, res: ServerResponse, url: URL, services: Services, name: string, key: string): Promise<void> {
  const principal = await services.auth.authenticate(req.headers.authorization, collectionLookahead(name, url));
  const params = parseParams(putItem.query, parseQueryString(url.search));
  const collection = await resolveCollection(services.db.sql, principal, name, params.project_id, "write");
  const body = await readJsonBody(req, services.env);
  const parsed = putItem.body.safeParse(body);
  if (!parsed.success) return rejected(res, bodyProblem(body, parsed.error.issues));
  await writeItems(res, services, collection.id, [{ key, value: parsed.data.value }]);
}

/** POST /lightning/collections/{name} {"items": [{key, value}]} → 200 {"upserted": n, "error": null}; 422 when invalid. */
export async function postLightningItems(req: IncomingMessage, res: ServerResponse, url: URL, services: Services, name: string): Promise<void> {
  const principal = await services.auth.authenticate(req.headers.authorization, collectionLookahead(name, url));
  const params = parseParams(postItems.query, parseQueryString(url.search));
  const collection = await resolveCollection(services.db.sql, principal, name, params.project_id, "write");
  const body = await readJsonBody(req, services.env);
  const parsed = postItems.body.safeParse(body);
  if (!parsed.success) return rejected(res, bodyProblem(body, parsed.error.issues));
  await writeItems(res, services, collection.id, parsed.data.items);
}

import type { CollectionLookahead, Principal } from "../auth/principal.js";
import type { Services } from "../context.js";
import type { Logger } from "../log.js";
import type { ItemCaller } from "../services/item-operations.js";
import { decodeItemsPath, matchItemsPath } from "./items-path.js";
import { collectionLookahead } from "./lookahead.js";
import { parseQueryString, type QueryValues } from "./params.js";
import type { RequestScope } from "./request-scope.js";
import { tryDecodePathSegment, type RequestTarget } from "./request-target.js";

/** What a hand-written handler gets besides the request and response. */
export interface RawRequest {
  services: Services;
  /** The request's id, route and caller (server/http/request-scope.ts). */
  scope: RequestScope;
  /** The services' logger with the request's id. */
  log: Logger;
  /** The request line's path and query, as sent. */
  target: RequestTarget;
  /** The caller's principal, decided once per request (server/http/request-gate.ts). */
  authenticate(lookahead?: CollectionLookahead): Promise<Principal>;
}

/** An item request after its common start: authenticated, its collection name (and key) decoded, its query read. */
export interface OpenedItemRequest {
  principal: Principal;
  caller: ItemCaller;
  query: QueryValues;
  name: string;
  key: string | undefined;
}

function opened(
  raw: RawRequest,
  principal: Principal,
  query: QueryValues,
  name: string,
  key: string | undefined,
): OpenedItemRequest {
  const { db, env, metrics } = raw.services;
  return { principal, caller: { sql: db.sql, env, principal, counters: metrics.items }, query, name, key };
}

/**
 * `/collections/{name}[/{key}]`: authenticates first (the token check reads along the collection and,
 * with `readKey`, the item), then decodes the path (400 for a bad name or escape).
 */
export async function openItemRequest(
  raw: RawRequest,
  options: { readKey?: boolean } = {},
): Promise<OpenedItemRequest> {
  const path = matchItemsPath(raw.target.path)!;
  const query = parseQueryString(raw.target.search);
  const principal = await raw.authenticate(
    collectionLookahead(
      tryDecodePathSegment(path.rawName),
      query.values.project_id,
      options.readKey ? tryDecodePathSegment(path.rawKey) : undefined,
    ),
  );
  const { name, key } = decodeItemsPath(path);
  return opened(raw, principal, query, name, key);
}

/** `/lightning/collections/{name}[/{key}]`, its path already decoded: authenticates and reads the query. */
export async function openLightningRequest(
  raw: RawRequest,
  name: string,
  key?: string,
  options: { readKey?: boolean } = {},
): Promise<OpenedItemRequest> {
  const query = parseQueryString(raw.target.search);
  const principal = await raw.authenticate(
    collectionLookahead(name, query.values.project_id, options.readKey ? key : undefined),
  );
  return opened(raw, principal, query, name, key);
}

import * as upsertItems from "../../contracts/items/upsert-items.js";
import { resolveCollection } from "../services/access.js";
import { itemsOfBody, upsertRequest } from "../services/item-requests.js";
import { badRequest } from "../errors.js";
import { readJsonBody } from "./body.js";
import { parseParams, parseQueryString } from "./params.js";
import type { RawRoute } from "./raw-routes.js";
import { decodeItemsPath, matchItemsPath } from "./items-path.js";
import { collectionLookahead, decodedSegment } from "./lookahead.js";
import { sendJson } from "./respond.js";

/** POST /collections/{name} (SPEC §3.2): 201 when a key was created, 200 otherwise, 422 when nothing was valid. */
export const upsertItemsRoute: RawRoute = {
  name: "items.upsert",
  matches: (method, pathname) => method === "POST" && matchItemsPath(pathname) !== null,
  async handle(req, res, url, services) {
    const { env, db } = services;
    const path = matchItemsPath(url.pathname)!;
    const principal = await services.auth.authenticate(req.headers.authorization, collectionLookahead(decodedSegment(path.rawName), url));
    const { name, key } = decodeItemsPath(path);
    if (key !== undefined) throw badRequest("POST takes no key in the path: send the items, with their keys, to /collections/{name}");
    const params = parseParams(upsertItems.query, parseQueryString(url.search));
    const collection = await resolveCollection(db.sql, principal, name, params.project_id, "write");
    const items = itemsOfBody(await readJsonBody(req, env));
    const answer = await upsertRequest(db.sql, env, collection.id, items);
    sendJson(res, answer.status, answer.body);
  },
};

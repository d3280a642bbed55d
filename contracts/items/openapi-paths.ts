import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject, ZodOpenApiResponseObject } from "zod-openapi";
import { errorBodySchema } from "../common.js";
import * as deleteItems from "./delete-items.js";
import * as getItems from "./get-items.js";
import * as upsertItems from "./upsert-items.js";

// OpenAPI of the raw item routes (server/http/items-*.ts), from the schemas those handlers validate with.

const error = (description: string): ZodOpenApiResponseObject => ({
  description,
  content: { "application/json": { schema: errorBodySchema } },
});

const common = {
  401: error("Missing, malformed, invalid, expired or revoked credentials"),
  404: error("No such collection among those the caller can see"),
  409: error("The name exists in several of the caller's projects; add project_id"),
  500: error("Unexpected failure (before the response started; afterwards the transfer is aborted)"),
  503: error("The database is not available"),
};

const security = [{ Authorization: [] }];

function getOperation(withKey: boolean): ZodOpenApiOperationObject {
  return {
    operationId: withKey ? "items.getByPattern" : "items.get",
    tags: ["items"],
    summary: withKey ? "Fetch the items whose key matches a pattern" : "Fetch every item of a collection",
    description:
      "Items in insertion order, written progressively (chunked transfer encoding). If a failure happens after the status line, the transfer is aborted rather than ended as valid JSON.",
    security,
    requestParams: {
      path: withKey ? getItems.pathParams : getItems.collectionPathParams,
      query: getItems.query,
    },
    responses: {
      200: {
        description: "The matching items",
        content: { "application/json": { schema: getItems.output } },
      },
      400: error("A malformed, repeated or unknown parameter (named in the message), or cursor with offset"),
      403: error("The token cannot read this collection"),
      ...common,
    },
  };
}

function deleteOperation(withKey: boolean): ZodOpenApiOperationObject {
  return {
    operationId: withKey ? "items.deleteByPattern" : "items.delete",
    tags: ["items"],
    summary: withKey
      ? "Delete the items whose key matches a pattern"
      : "Delete every item of a collection (admins, owners, run tokens)",
    description:
      "Deletes in batches, oldest first, streaming the deleted keys; the count comes last. Items written after the request started are kept. If the client disconnects, no further batch is deleted.",
    security,
    requestParams: {
      path: withKey ? getItems.pathParams : getItems.collectionPathParams,
      query: deleteItems.query,
    },
    responses: {
      200: {
        description: "What was deleted",
        content: { "application/json": { schema: deleteItems.output } },
      },
      400: error("A malformed, repeated or unknown parameter (named in the message)"),
      403: error(
        withKey
          ? "The caller's role or token scope does not allow writing"
          : "Deleting everything needs the admin or owner role (or a run token)",
      ),
      ...common,
    },
  };
}

const upsertResponse = (description: string): ZodOpenApiResponseObject => ({
  description,
  content: { "application/json": { schema: upsertItems.output } },
});

export const itemPaths: ZodOpenApiPathsObject = {
  "/collections/{name}": {
    get: getOperation(false),
    post: {
      operationId: "items.upsert",
      tags: ["items"],
      summary: "Create or update items",
      description:
        "Every valid item is written in one transaction, with one timestamp for the request; invalid items (bad or repeated key, missing or oversized value, not an object) are listed in `errors` and not written.",
      security,
      requestParams: { path: getItems.collectionPathParams, query: upsertItems.query },
      requestBody: { required: true, content: { "application/json": { schema: upsertItems.body } } },
      responses: {
        200: upsertResponse("Written; no new key was created"),
        201: upsertResponse("Written; at least one new key was created"),
        400: error("The body is not JSON, not of either shape, or not valid UTF-8; or a bad parameter"),
        403: error("The caller's role or token scope does not allow writing"),
        413: error("The body exceeds MAX_BODY_BYTES, or has more than MAX_ITEMS_PER_REQUEST items"),
        415: error("The content type is not application/json"),
        422: upsertResponse("No item of the request was valid; nothing was written"),
        ...common,
      },
    },
    delete: deleteOperation(false),
  },
  "/collections/{name}/{key}": {
    get: getOperation(true),
    delete: deleteOperation(true),
  },
};

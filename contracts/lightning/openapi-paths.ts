import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject, ZodOpenApiResponseObject } from "zod-openapi";
import * as deleteItem from "./delete-item.js";
import * as deleteItems from "./delete-items.js";
import * as getItem from "./get-item.js";
import * as listItems from "./list-items.js";
import * as postItems from "./post-items.js";
import * as putItem from "./put-item.js";
import { collectionPathParams, itemPathParams, lightningErrorSchema, lightningItemSchema } from "./shared.js";

// OpenAPI of the Lightning dialect (server/http/lightning-*.ts), from the schemas its handlers validate with.

const error = (description: string): ZodOpenApiResponseObject => ({
  description,
  content: { "application/json": { schema: lightningErrorSchema } },
});

const common = {
  401: error("`Unauthorized`: missing, malformed, invalid, expired or revoked credentials"),
  404: error(
    "`Not Found`: no such collection among those the caller can see (the adaptor's COLLECTION_NOT_FOUND)",
  ),
  409: error(
    "The name exists in several of the caller's projects; the message says to add ?project_id=<uuid>",
  ),
  500: error("`Internal Server Error` (before the response started; afterwards the transfer is aborted)"),
  503: error("`Service Unavailable`: the database is not available"),
};
const badRequest = error(
  "`Bad Request`: an unknown, repeated or malformed parameter (the body is exactly this)",
);
const forbidden = error("`Forbidden`: the caller's role or token scope does not allow this");

const security = [{ Authorization: [] }];
const tags = ["lightning"];

const upsertResponses = {
  200: { description: "Written", content: { "application/json": { schema: putItem.output } } },
  400: error("`Bad Request`: the body is not JSON or not valid UTF-8, or a bad parameter"),
  403: forbidden,
  413: error("The body exceeds MAX_BODY_BYTES, or has more than MAX_ITEMS_PER_REQUEST items"),
  415: error("The content type is not application/json"),
  422: {
    description:
      "Nothing written: `Duplicate key found`, `Missing required field: …`, a non-string value, or an invalid key or value",
    content: { "application/json": { schema: putItem.output } },
  },
  ...common,
} satisfies ZodOpenApiOperationObject["responses"];

export const lightningPaths: ZodOpenApiPathsObject = {
  "/lightning/collections/{name}": {
    get: {
      operationId: "lightning.listItems",
      tags,
      security,
      summary: "Lightning: fetch a page of items matching a key pattern",
      description: `Items in insertion order, streamed; at most \`limit\` (default ${listItems.DEFAULT_LIMIT}). \`cursor\` is null on the last page.`,
      requestParams: { path: collectionPathParams, query: listItems.query },
      responses: {
        200: {
          description: "A page of items",
          content: { "application/json": { schema: listItems.output } },
        },
        400: badRequest,
        403: forbidden,
        ...common,
      },
    },
    post: {
      operationId: "lightning.postItems",
      tags,
      security,
      summary: "Lightning: create or replace many items",
      description: "All items are written in one transaction with one timestamp, or none is (422).",
      requestParams: { path: collectionPathParams, query: postItems.query },
      requestBody: { required: true, content: { "application/json": { schema: postItems.body } } },
      responses: upsertResponses,
    },
    delete: {
      operationId: "lightning.deleteItems",
      tags,
      security,
      summary:
        "Lightning: delete the items matching ?key= (without key: every item; admins, owners, run tokens)",
      requestParams: { path: collectionPathParams, query: deleteItems.query },
      responses: {
        200: {
          description: "What was deleted",
          content: { "application/json": { schema: deleteItems.output } },
        },
        400: badRequest,
        403: forbidden,
        ...common,
      },
    },
  },
  "/lightning/collections/{name}/{key}": {
    get: {
      operationId: "lightning.getItem",
      tags,
      security,
      summary: "Lightning: fetch one item by exact key",
      requestParams: { path: itemPathParams, query: getItem.query },
      responses: {
        200: { description: "The item", content: { "application/json": { schema: lightningItemSchema } } },
        204: { description: "No item has this key (empty body)" },
        400: badRequest,
        ...common,
      },
    },
    put: {
      operationId: "lightning.putItem",
      tags,
      security,
      summary: "Lightning: create or replace one item",
      requestParams: { path: itemPathParams, query: putItem.query },
      requestBody: { required: true, content: { "application/json": { schema: putItem.body } } },
      responses: upsertResponses,
    },
    delete: {
      operationId: "lightning.deleteItem",
      tags,
      security,
      summary: "Lightning: delete one item by exact key (200 with `Item Not Found` when missing)",
      requestParams: { path: itemPathParams, query: deleteItem.query },
      responses: {
        200: {
          description: "Deleted, or not found",
          content: { "application/json": { schema: deleteItem.output } },
        },
        400: badRequest,
        403: forbidden,
        ...common,
      },
    },
  },
};

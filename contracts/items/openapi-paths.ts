import { z } from "zod";
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject, ZodOpenApiResponseObject } from "zod-openapi";
import { errorBodySchema } from "../common.js";
import * as changes from "./changes.js";
import * as deleteItems from "./delete-items.js";
import * as exportItems from "./export-items.js";
import * as importItems from "./import-items.js";
import * as getItems from "./get-items.js";
import * as putItem from "./put-item.js";
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

// SPEC §9.1: an item's version as an entity tag, and the conditional headers of the one-item routes.
const etagHeader = {
  ETag: {
    description:
      'The item\'s version as a strong entity tag, `"<version>"`: what If-Match and If-None-Match take',
    schema: { type: "string" as const, example: '"42"' },
  },
};
const getHeaders = z.object({
  "If-None-Match": z.string().optional().meta({
    description:
      'For an exact key (without time filters, offset or cursor): 304 Not Modified when the item\'s version is one of these entity tags (`"42"`, `W/"42"` alike; a comma-separated list) or the value is `*` and the item exists. Ignored for a pattern',
    example: '"42"',
  }),
});
const deleteHeaders = z.object({
  "If-Match": z.string().optional().meta({
    description:
      'SPEC §9.1: delete the one item of an exact key only if its version is this strong entity tag (`"42"`; `*`: only if it exists); otherwise 412 PRECONDITION_FAILED with `current_version`. Refused (400) with a pattern, without a key, with dry_run, max_affected or time filters, and as a weak tag or a list',
    example: '"42"',
  }),
});
const preconditionFailed = (what: string) =>
  error(
    `PRECONDITION_FAILED: ${what}; nothing was changed. The body's \`current_version\` is the item's version now (null: it does not exist)`,
  );

function getOperation(withKey: boolean): ZodOpenApiOperationObject {
  return {
    operationId: withKey ? "items.getByPattern" : "items.get",
    tags: ["items"],
    summary: withKey ? "Fetch the items whose key matches a pattern" : "Fetch every item of a collection",
    description:
      "Items in insertion order, written progressively (chunked transfer encoding). If a failure happens after the status line, the transfer is aborted rather than ended as valid JSON." +
      (withKey
        ? ' An exact key (no `*`) without time filters, offset or cursor reads one item: the answer has `ETag: "<version>"` (SPEC §9.1), and If-None-Match with that tag is 304.'
        : ""),
    security,
    requestParams: {
      path: withKey ? getItems.pathParams : getItems.collectionPathParams,
      query: getItems.query,
      ...(withKey ? { header: getHeaders } : {}),
    },
    responses: {
      200: {
        description:
          "The matching items; with `keys_only=true`, their keys alone (KeyPage)" +
          (withKey
            ? ". ETag: the version of the one item of an exact key (absent for a pattern or no item)"
            : ""),
        ...(withKey ? { headers: etagHeader } : {}),
        content: { "application/json": { schema: z.union([getItems.output, getItems.keyPage]) } },
      },
      ...(withKey
        ? {
            304: {
              description:
                "Not Modified: If-None-Match names the item's current version (or is `*`); no body. Carries the ETag",
              headers: etagHeader,
            },
          }
        : {}),
      400: error(
        "A malformed, repeated or unknown parameter (named in the message), cursor with offset, or keys_only with meta",
      ),
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
      "Deletes in batches, oldest first, streaming the deleted keys; the count comes last. Items written after the request started are kept. If the client disconnects, no further batch is deleted. " +
      "`dry_run=true` answers the same for what would be deleted and deletes nothing; `max_affected=N` deletes nothing (409 TOO_MANY_AFFECTED) when more than N items match, and otherwise deletes them all in one transaction before the answer starts." +
      (withKey
        ? ' With `If-Match` (SPEC §9.1), the one item of an exact key, only at that version: `{"keys": [key], "deleted": 1}`, or 412 with its current version.'
        : ""),
    security,
    requestParams: {
      path: withKey ? getItems.pathParams : getItems.collectionPathParams,
      query: deleteItems.query,
      ...(withKey ? { header: deleteHeaders } : {}),
    },
    responses: {
      200: {
        description: "What was deleted (with `dry_run=true`: what would be)",
        content: { "application/json": { schema: deleteItems.output } },
      },
      400: error(
        "A malformed, repeated or unknown parameter (named in the message), or max_affected above MAX_AFFECTED_LIMIT",
      ),
      403: error(
        withKey
          ? "The caller's role or token scope does not allow writing (also for a dry run)"
          : "Deleting everything needs the admin or owner role (or a run token), also for a dry run",
      ),
      ...common,
      409: error(
        "TOO_MANY_AFFECTED: more items match than `max_affected` allows (the message names the count); nothing was deleted. " +
          "Or CONFLICT: the name exists in several of the caller's projects; add project_id",
      ),
      ...(withKey
        ? {
            412: preconditionFailed(
              "If-Match named another version than the item's, or the item does not exist",
            ),
          }
        : {}),
    },
  };
}

const putResponse = (description: string): ZodOpenApiResponseObject => ({
  description,
  headers: etagHeader,
  content: { "application/json": { schema: putItem.output } },
});

/** PUT /collections/{name}/{key} (SPEC §9.1): a raw route (the body is the value's exact text); tRPC: items.put. */
const putOperation: ZodOpenApiOperationObject = {
  operationId: "items.put",
  tags: ["items"],
  summary: "Write one item, optionally only at a version (If-Match) or only if absent (If-None-Match: *)",
  description:
    "The body is the value itself, any JSON value, stored as the text sent (whitespace outside strings aside). The key is exact: a `*` in it is the character. " +
    '`If-Match: "<version>"` writes only if the item exists with that version (`*`: if it exists at all); `If-None-Match: *` only if the key does not exist; otherwise 412 with the current version and nothing written. ' +
    "Read-modify-write without lost updates: GET the item (its ETag), PUT with `If-Match: <that ETag>`, and on 412 read again. " +
    "The tRPC procedure items.put does the same (conditions `if_version` / `if_absent`).",
  security,
  requestParams: { path: putItem.pathParams, query: putItem.query, header: putItem.headers },
  requestBody: { required: true, content: { "application/json": { schema: putItem.body } } },
  responses: {
    200: putResponse("Updated: the key existed. ETag: the new version"),
    201: putResponse(
      "Created: the key did not exist (or had been deleted, or had expired). ETag: the new version",
    ),
    400: error(
      "The body is not JSON or not valid UTF-8; a bad key, parameter or header (named in the message): If-Match not one strong entity tag or `*`, If-None-Match other than `*`, both together",
    ),
    403: error("The caller's role or token scope does not allow writing"),
    412: preconditionFailed(
      "If-Match named another version than the item's (or `*` and the item does not exist), or If-None-Match: * and the item exists",
    ),
    413: error(
      "The body exceeds MAX_BODY_BYTES, or the value has more than MAX_VALUE_CHARS characters once whitespace outside strings is removed",
    ),
    415: error("The content type is not application/json"),
    ...common,
  },
};

const upsertResponse = (description: string): ZodOpenApiResponseObject => ({
  description,
  content: { "application/json": { schema: upsertItems.output } },
});

const exportOperation: ZodOpenApiOperationObject = {
  operationId: "items.export",
  tags: ["items"],
  summary: "Export the matching items as NDJSON (or one JSON array)",
  description:
    'Every matching item (all of them without filters), oldest first, one `{key, value, created, updated, version}` object per line (`application/x-ndjson`), each value the stored JSON text as written; `format=json-array` answers one JSON array of the same objects instead (the shape of Lightning\'s collection download). Streamed in constant memory with `Content-Disposition: attachment; filename="<name>.ndjson"` (`.json`). If a failure happens after the status line, the transfer is aborted rather than ended. ' +
    "The path segment `export` is matched as sent: the item whose key is `export` is `/collections/{name}/%65xport` (SPEC §3.6); other methods of this path (PUT, DELETE) are those of `/collections/{name}/{key}` for that key.",
  security,
  requestParams: { path: exportItems.pathParams, query: exportItems.query },
  responses: {
    200: {
      description: "The matching items",
      headers: {
        "content-disposition": {
          description: 'attachment; filename="<name>.ndjson" (format=json-array: "<name>.json")',
          schema: { type: "string" },
        },
      },
      content: {
        "application/x-ndjson": { schema: exportItems.exportedItem },
        "application/json": { schema: exportItems.arrayOutput },
      },
    },
    400: error("A malformed, repeated or unknown parameter (named in the message)"),
    403: error("The token cannot read this collection"),
    429: error("The token already has MAX_STREAMS_PER_TOKEN streamed answers open"),
    ...common,
  },
};

const importResponse = (description: string): ZodOpenApiResponseObject => ({
  description,
  content: { "application/json": { schema: importItems.output } },
});

const importOperation: ZodOpenApiOperationObject = {
  operationId: "items.import",
  tags: ["items"],
  summary: "Import items from NDJSON",
  description:
    "The body is NDJSON, one `{key, value}` object per line (an export's lines as they are: other members are ignored), of any length: it is read line by line as it arrives (MAX_BODY_BYTES does not apply; a line longer than 3 × MAX_VALUE_CHARS + 6 × MAX_KEY_LENGTH + 64 KiB bytes is refused), each line checked as an upserted item is, and the valid lines written in batches of 1,000 (a failure or a disconnect mid-way leaves the batches already written). Refused lines are reported by line number. " +
    "`atomic=true` reads and checks the whole body first and writes all of it in one transaction, or nothing when a line is bad (422) or the body has more than IMPORT_ATOMIC_MAX_ITEMS lines (413). The whole request must arrive within REQUEST_TIMEOUT_MS.",
  security,
  requestParams: { path: importItems.pathParams, query: importItems.query },
  requestBody: {
    required: true,
    content: { "application/x-ndjson": { schema: importItems.importLine } },
  },
  responses: {
    200: importResponse("Imported; no new key was created (or the body had no line)"),
    201: importResponse("Imported; at least one new key was created"),
    400: error("A malformed, repeated or unknown parameter (named in the message)"),
    403: error("The caller's role or token scope does not allow writing"),
    413: error("atomic=true with more than IMPORT_ATOMIC_MAX_ITEMS lines; nothing was written"),
    415: error("The content type is not application/x-ndjson (or application/json)"),
    422: importResponse(
      "Nothing was written because of refused lines (every line, or any line with atomic=true)",
    ),
    ...common,
    409: error(
      "The name exists in several of the caller's projects (add project_id); or, with atomic=true, a concurrent write of the same keys rolled the import back: send it again",
    ),
  },
};

const changesOperation: ZodOpenApiOperationObject = {
  operationId: "items.changes",
  tags: ["items"],
  summary: "Follow the changes of a collection (Server-Sent Events, or long-poll JSON)",
  description:
    "Every change of the collection's items (of the keys matching `key`), in commit order per key, as Server-Sent Events: `event: put` with data `{key, value, version, updated}` (the value's stored JSON text, as written) and `event: delete` with data `{key, version, at}` (also for an expiry, with `expired: true`), each with `id: <cursor>`. " +
    "The stream opens with an id-only message (`id: <cursor of the start>`), and sends a `: keep-alive` comment when idle for CHANGES_HEARTBEAT_MS (15 s). It reads new changes every CHANGES_POLL_MS, with backpressure. " +
    "Without `since` or `Last-Event-ID` the feed starts now (changes of transactions still running at that moment may be included; none committed later is left out); `since=0` replays every change the feed still holds; `Last-Event-ID` (or `since`) resumes just after that event, with no loss and no duplicate, on any instance, after restarts. " +
    "A change is sent once every transaction older than it has ended: a long-running transaction anywhere on the database server holds the feed back until it ends. " +
    "`format=json` is the long-poll form: `{changes, cursor}` (up to `limit`), waiting up to `wait` seconds when nothing is new; continue with `since=<cursor>`. " +
    "The path segment `changes` is matched as sent: the item whose key is `changes` is `/collections/{name}/%63hanges` (SPEC §3.6); other methods of this path (PUT, DELETE) are those of `/collections/{name}/{key}` for that key.",
  security,
  requestParams: { path: changes.pathParams, query: changes.query, header: changes.headers },
  responses: {
    200: {
      description: "The feed: an event stream (the default), or one long-poll answer with format=json",
      content: {
        "text/event-stream": {
          schema: z.string().meta({
            description:
              "Server-Sent Events: `put` (data: ChangePut) and `delete` (data: ChangeDelete) events, each with an `id`, and `: keep-alive` comments",
            example:
              'id: ZjEuNzY1LjEwNDIuQWJDZEVmR2hJaks\nevent: put\ndata: {"key":"order-1","value":{"n":1},"version":1042,"updated":"2024-10-08T12:00:00.123456Z"}\n\n',
          }),
        },
        "application/json": { schema: changes.pollOutput },
      },
    },
    400: error(
      "A malformed, repeated or unknown parameter, `limit`/`wait` without format=json, or a `since` / `Last-Event-ID` that is not a cursor of this feed (collection and key pattern), named in the message",
    ),
    403: error("The token cannot read this collection"),
    410: error(
      "CHANGES_EXPIRED: the cursor is older than the changes the collection still keeps (CHANGES_RETENTION_HOURS): re-read the collection and follow the feed from now",
    ),
    429: error("The token already has MAX_STREAMS_PER_TOKEN streamed answers open"),
    ...common,
  },
};

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
  "/collections/{name}/export": { get: exportOperation },
  "/collections/{name}/import": { post: importOperation },
  "/collections/{name}/changes": { get: changesOperation },
  "/collections/{name}/{key}": {
    get: getOperation(true),
    put: putOperation,
    delete: deleteOperation(true),
  },
};

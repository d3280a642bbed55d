import { request as httpRequest } from "node:http";
import { connect, createServer, type Socket } from "node:net";
import path from "node:path";
import { stringify } from "node:querystring";

// A small client that speaks to a collections server exactly as the OpenFn CLI's
// `openfn collections get|set|remove` does (OpenFn/kit packages/cli/src/collections/{command,handler,request}.ts,
// read at commit 6421c170b1b70ecb7e8cd39d92e4c9203a52a95f, CLI 1.36.0 with undici 6.24.1). Written from
// reading that source, not copied. What the CLI does on the wire:
//
// - URL: `path.join(endpoint, '/collections', name)`. path.join collapses `//`, so
//   `http://host:port/lightning` becomes `http:/host:port/lightning/collections/<name>`; undici parses it
//   with WHATWG URL (which accepts `http:/host`) and sends the URL's pathname.
// - Query: an object `{key, limit: pageSize || 1000}`, then the time filters the user gave (only truthy
//   ones, in the order created_before, created_after, updated_before, updated_after), then `project_id`,
//   then `cursor` once a page returned one. undici appends `?` + `querystring.stringify(query)` to the
//   pathname: an undefined or null value is written `key=`, numbers as digits, strings with
//   `querystring.escape` (everything but `A-Za-z0-9-_.!~*'()` percent-encoded as UTF-8).
// - Headers: `Authorization: Bearer <token>`, and `content-type: application/json` when there is a body.
// - Every command sends `limit` (set and remove too). `remove` does not send `project_id` even when
//   `--project-id` is given; `remove --dry-run` sends a GET with `project_id` but without the time filters.
// - Paging: it repeats the request while the answer's `cursor` is truthy and, with `--limit`, fewer than
//   `limit` items have been read; with `--limit` each page asks for min(pageSize || 1000, limit - count).
// - Values: `set` sends `JSON.stringify(value)` for each item (for `set KEY FILE`,
//   `JSON.stringify(JSON.parse(fileText))`); `get` keeps `result[item.key] = JSON.parse(item.value)` (the raw
//   string when that throws), so a key read twice keeps the last value. `get` of a key without `*`
//   prints `Object.values(result)[0]`.
// - Errors: any status >= 400 aborts: 404 "404: collection not found", 409 "409: multiple collection names
//   matched", otherwise "Error from server: <status>" (the body is logged). A 2xx whose body is not JSON
//   (e.g. a 204) makes undici's `body.json()` throw, which the CLI reports as CONNECTION_REFUSED.

export const DEFAULT_PAGE_SIZE = 1000;

export interface CliRequest {
  method: "GET" | "POST" | "DELETE";
  /** The request target as written on the request line: pathname + `?` + query. */
  target: string;
  headers: Record<string, string>;
  body?: string;
}

export interface CliResponse {
  status: number;
  text: string;
}

/** What the CLI aborts with (its DeferredAbort: a reason and a help text), plus the status for tests. */
export class CliAbort extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly help: string | undefined,
    /** The body the CLI logs for statuses other than 404/409. */
    readonly loggedBody?: unknown,
  ) {
    super(message);
  }
}

export interface CliEnv {
  /** `--endpoint`, e.g. `http://127.0.0.1:1234/lightning` */
  endpoint: string;
  /** `--token` */
  token: string;
}

export interface QueryOptions {
  createdBefore?: string;
  createdAfter?: string;
  updatedBefore?: string;
  updatedAfter?: string;
}

export interface GetOptions extends QueryOptions {
  name: string;
  key: string;
  pageSize?: number;
  limit?: number;
  projectId?: string;
}

export interface SetOptions {
  name: string;
  key?: string;
  /** The text of the file given as `[value]` (the CLI reads the file; this takes its content). */
  valueFileText?: string;
  /** The text of the file given as `--items` (a JSON object of key → value). */
  itemsFileText?: string;
  projectId?: string;
}

export interface RemoveOptions extends QueryOptions {
  name: string;
  key: string;
  dryRun?: boolean;
  projectId?: string;
}

interface RequestOptions {
  key: string | undefined;
  name: string;
  pageSize?: number;
  limit?: number;
  data?: unknown;
  query?: Record<string, string>;
  projectId?: string;
}

/** handler.ts buildQuery: the truthy time filters, in this order. */
function timeQuery(options: QueryOptions): Record<string, string> {
  const map: [keyof QueryOptions, string][] = [
    ["createdBefore", "created_before"],
    ["createdAfter", "created_after"],
    ["updatedBefore", "updated_before"],
    ["updatedAfter", "updated_after"],
  ];
  const query: Record<string, string> = {};
  for (const [option, param] of map) if (options[option]) query[param] = options[option]!;
  return query;
}

/** A client that sends what the OpenFn CLI sends; every request and answer is kept in `log`. */
export function openfnCli(env: CliEnv) {
  const log: { request: CliRequest; response: CliResponse }[] = [];

  /** request.ts: one call of the CLI's request helper, paging as it does. */
  async function collectionsRequest(method: CliRequest["method"], options: RequestOptions): Promise<any> {
    const joined = path.join(env.endpoint, "/collections", options.name);
    const url = new URL(joined); // what undici does with the string it is given
    const headers: Record<string, string> = { Authorization: `Bearer ${env.token}` };
    const query: Record<string, unknown> = Object.assign(
      { key: options.key, limit: options.pageSize || DEFAULT_PAGE_SIZE },
      options.query,
    );
    if (options.projectId) query.project_id = options.projectId;
    let body: string | undefined;
    if (options.data) {
      body = JSON.stringify(options.data);
      headers["content-type"] = "application/json";
    }

    let result: any = {};
    let cursor: unknown;
    let count = 0;
    let limit = Infinity;
    do {
      if (cursor) query.cursor = cursor;
      if (options.limit) {
        limit = options.limit;
        query.limit = Math.min(options.pageSize || DEFAULT_PAGE_SIZE, options.limit - count);
      }
      const qs = stringify(query as Record<string, string>);
      const target = url.pathname + (qs ? `?${qs}` : "");
      const request: CliRequest = {
        method,
        target,
        headers: { ...headers },
        ...(body === undefined ? {} : { body }),
      };
      const response = await send(url, request);
      log.push({ request, response });
      if (response.status >= 400) throw errorOf(response);
      let data: any;
      try {
        data = JSON.parse(response.text);
      } catch {
        throw new CliAbort(
          `CONNECTION_REFUSED: error connecting to server at ${env.endpoint}`,
          response.status,
          "Check you have passed the correct URL to --endpoint or OPENFN_ENDPOINT",
        );
      }
      if (data.items) {
        count += data.items.length;
        for (const item of data.items) {
          try {
            result[item.key] = JSON.parse(item.value);
          } catch {
            result[item.key] = item.value;
          }
        }
        cursor = data.cursor;
      } else {
        result = data;
      }
    } while (cursor && count < limit);
    return result;
  }

  return {
    log,
    /** The request targets sent so far, as `METHOD target`. */
    lines: () => log.map((l) => `${l.request.method} ${l.request.target}`),

    /** `openfn collections get <name> <key> [--page-size] [--limit] [--created-after …] [--project-id]`: what it prints. */
    async get(options: GetOptions): Promise<any> {
      const result = await collectionsRequest("GET", {
        key: options.key,
        name: options.name,
        pageSize: options.pageSize,
        limit: options.limit,
        query: timeQuery(options),
        projectId: options.projectId,
      });
      return options.key.includes("*") ? result : Object.values(result)[0];
    },

    /** `openfn collections set <name> [key] [value] [--items]`: the server's answer (the CLI prints `upserted`). */
    async set(options: SetOptions): Promise<any> {
      if (options.key && options.itemsFileText !== undefined)
        throw new CliAbort("ARGUMENT_ERROR: arguments for key and items were provided", undefined, undefined);
      const items: { key: string; value: string }[] = [];
      if (options.itemsFileText !== undefined) {
        for (const [key, value] of Object.entries(JSON.parse(options.itemsFileText)))
          items.push({ key, value: JSON.stringify(value) });
      } else if (options.key && options.valueFileText !== undefined) {
        items.push({ key: options.key, value: JSON.stringify(JSON.parse(options.valueFileText)) });
      } else {
        throw new Error("INVALID_ARGUMENTS");
      }
      return collectionsRequest("POST", {
        key: options.key,
        name: options.name,
        data: { items },
        projectId: options.projectId,
      });
    },

    /** `openfn collections remove <name> <key> [--dry-run] [--created-after …]`: the answer, or the keys a dry run lists. */
    async remove(options: RemoveOptions): Promise<any> {
      if (options.dryRun) {
        const found = await collectionsRequest("GET", {
          key: options.key,
          name: options.name,
          projectId: options.projectId,
        });
        return Object.keys(found);
      }
      // The CLI passes neither pageSize nor projectId here.
      return collectionsRequest("DELETE", {
        key: options.key,
        name: options.name,
        query: timeQuery(options),
      });
    },
  };
}

function errorOf(response: CliResponse): CliAbort {
  if (response.status === 409)
    return new CliAbort(
      "409: multiple collection names matched",
      409,
      "Pass --project-id or set OPENFN_PROJECT_ID to disambiguate the request",
    );
  if (response.status === 404)
    return new CliAbort(
      "404: collection not found",
      404,
      "Ensure the Collection has been created on the admin page",
    );
  let body: unknown = response.text;
  try {
    body = JSON.parse(response.text);
  } catch {
    // logged as text
  }
  return new CliAbort(`Error from server: ${response.status}`, response.status, undefined, body);
}

/** Sends the request line exactly as built (node:http writes the path as given, like undici). */
function send(url: URL, request: CliRequest): Promise<CliResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port,
        method: request.method,
        path: request.target,
        headers:
          request.body === undefined
            ? request.headers
            : { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(request.body);
  });
}

// ---------------------------------------------------------------------------------------------------
// A TCP proxy that records the exact bytes of every HTTP/1.1 request line that passes through it.

export interface RecordedRequest {
  method: string;
  /** The request target, bytes read as latin1 (one character per byte). */
  target: string;
  /** The whole request line (without CRLF) as bytes. */
  line: Buffer;
}

export interface RecordingProxy {
  /** http://127.0.0.1:<port> */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Forwards bytes unchanged both ways and records each request's line (Content-Length and chunked bodies understood). */
export async function startRecordingProxy(targetUrl: string): Promise<RecordingProxy> {
  const target = new URL(targetUrl);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    let pending = Buffer.alloc(0);
    let skip = 0; // body bytes still to pass
    let chunked = false;
    client.on("data", (data: Buffer) => {
      upstream.write(data);
      pending = Buffer.concat([pending, data]);
      for (;;) {
        if (skip > 0) {
          const n = Math.min(skip, pending.length);
          pending = pending.subarray(n);
          skip -= n;
          if (skip > 0) return;
        }
        if (chunked) {
          const eol = pending.indexOf("\r\n");
          if (eol < 0) return;
          const size = parseInt(pending.subarray(0, eol).toString("latin1"), 16);
          if (size === 0) {
            const end = pending.indexOf("\r\n\r\n");
            if (end < 0) return;
            pending = pending.subarray(end + 4);
            chunked = false;
            continue;
          }
          pending = pending.subarray(eol + 2);
          skip = size + 2;
          continue;
        }
        const headEnd = pending.indexOf("\r\n\r\n");
        if (headEnd < 0) return;
        const lineEnd = pending.indexOf("\r\n");
        const line = Buffer.from(pending.subarray(0, lineEnd));
        const head = pending.subarray(0, headEnd).toString("latin1");
        const text = line.toString("latin1");
        const sp1 = text.indexOf(" ");
        const sp2 = text.lastIndexOf(" ");
        requests.push({ method: text.slice(0, sp1), target: text.slice(sp1 + 1, sp2), line });
        pending = pending.subarray(headEnd + 4);
        chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(head);
        skip = chunked ? 0 : Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      }
    });
    upstream.pipe(client); // ends the client side once the server has ended (its last answer flushed first)
    client.on("end", () => upstream.end());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

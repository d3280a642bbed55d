import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { createOpenApiExpressMiddleware } from "trpc-to-openapi";
import { createContext, type Context, type Services } from "../context.js";
import { AppError, badRequest, invalidParameter } from "../errors.js";
import { appRouter } from "../router.js";
import { openApiJson } from "../openapi.js";
import { readJsonBody, smallBodyLimits } from "./body.js";
import { serveDocs } from "./docs.js";
import { LIGHTNING_PREFIX, sendLightningError } from "./lightning-respond.js";
import { parseQueryString } from "./params.js";
import type { RawRequest } from "./raw-request.js";
import { rawRoutes } from "./raw-routes.js";
import { RequestGate } from "./request-gate.js";
import { hasUnresolvedSegments, requestTarget, tryDecodePathSegment, type RequestTarget } from "./request-target.js";
import { sendError } from "./respond.js";
/** The request listener of the service: every surface, in the order SPEC §4 and the house style set. */
export function createRequestListener(services: Services) {
  const { log, env } = services;
  const openApiDocument = openApiJson();
  const openApiRoutes = routeMatchers(JSON.parse(openApiDocument) as OpenApiDocument);
  // Authentication, once per request whichever surface asks, with the rate limits (SPEC §6).
  const gate = new RequestGate(services);

  // tRPC reads its own body: item writes up to MAX_BODY_BYTES, everything else MAX_SMALL_BODY_BYTES.
  const trpcHandler = (maxBodySize: number) =>
    createHTTPHandler({
      router: appRouter,
      basePath: "/trpc/",
      createContext: ({ req, res, info }) =>
        createContext(services, "trpc", req, res, info.signal, () => gate.authenticate(req, res, undefined, trpcCalls(req.url))),
      maxBodySize,
    });
  const trpcItemWrites = trpcHandler(env.MAX_BODY_BYTES);
  const trpcSmall = trpcHandler(env.MAX_SMALL_BODY_BYTES);

  // The Express flavour hands the Node request through unchanged (the standalone one wraps it in a
  // Fetch Request, losing the Authorization header and the body already read below).
  const restContexts = new WeakMap<IncomingMessage, Context>();
  const openApi = createOpenApiExpressMiddleware({
    router: appRouter,
    createContext: ({ req, res, info }) => {
      const context = createContext(services, "rest", req as IncomingMessage, res as ServerResponse, info?.signal, () =>
        gate.authenticate(req as IncomingMessage, res as ServerResponse),
      );
      restContexts.set(req as IncomingMessage, context);
      return context;
    },
  });

  /** trpc-to-openapi answers an error with its own rebuild of our body (without `issues`): send ours instead. */
  function keepErrorBody(req: IncomingMessage, res: ServerResponse): void {
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      const error = restContexts.get(req)?.restError;
      if (error && res.statusCode === error.status && !res.headersSent) {
        const text = JSON.stringify(error.body);
        res.setHeader("content-type", "application/json; charset=utf-8");
        res.setHeader("content-length", Buffer.byteLength(text));
        return end(text);
      }
      return end(...args);
    }) as ServerResponse["end"];
  }

  /**
   * tRPC: a call that sends a body is authenticated before a byte of it is read (SPEC §6). When that
   * fails, tRPC gets an empty body and answers the failure in its own envelope; the connection closes
   * rather than reading what the client still sends.
   */
  async function routeTrpc(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
    if (req.method !== "POST") return trpcSmall(req, res);
    try {
      await gate.authenticate(req, res, undefined, trpcCalls(req.url));
    } catch {
      (req as IncomingMessage & { body?: unknown }).body = "";
      res.setHeader("connection", "close");
      return trpcSmall(req, res);
    }
    const procedures = trpcProcedures(target.path);
    return (procedures.some((p) => tryDecodePathSegment(p) === "items.upsert") ? trpcItemWrites : trpcSmall)(req, res);
  }

  async function route(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
    const method = req.method ?? "GET";
    const { path } = target;

    if (path === "/openapi.json" && (method === "GET" || method === "HEAD")) {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
      res.end(method === "HEAD" ? undefined : openApiDocument);
      return;
    }
    if (path === "/docs" || path.startsWith("/docs/")) {
      if (method === "GET" && serveDocs(path, res)) return;
      throw new AppError("NOT_FOUND", `No route for ${method} ${path}`);
    }
    if (path === "/trpc" || path.startsWith("/trpc/")) return routeTrpc(req, res, target);
    const raw: RawRequest = { services, target, authenticate: (lookahead) => gate.authenticate(req, res, lookahead) };
    for (const r of rawRoutes) {
      if (r.matches(method, path)) return r.handle(req, res, raw);
    }
    // trpc-to-openapi resolves the path with WHATWG URL: only a path that needs no resolving reaches it.
    const operation = hasUnresolvedSegments(path) ? undefined : openApiRoutes.find((r) => r.method === method && r.pattern.test(path));
    if (!operation) throw new AppError("NOT_FOUND", `No route for ${method} ${path}`);
    // trpc-to-openapi fails (500) on parameter names such as `constructor` or `__proto__`; none is a
    // parameter of any route, so they are refused here, as are repeated or badly encoded ones.
    const query = parseQueryString(target.search);
    const [repeated] = query.repeated;
    if (repeated !== undefined) throw invalidParameter(repeated, "given more than once");
    const reserved = Object.keys(query.values).find((param) => param in Object.prototype);
    if (reserved !== undefined) throw badRequest(`Unknown parameter "${reserved}"`, [{ path: reserved, message: "unknown parameter" }]);
    // trpc-to-openapi reads req.body when it is set: reading it here applies our limits and errors, after
    // the caller is authenticated (no body of a protected route is read for a stranger).
    if (["POST", "PUT", "PATCH", "DELETE"].includes(method) && (req.headers["content-type"] || Number(req.headers["content-length"]) > 0)) {
      if (operation.protected) await gate.authenticate(req, res);
      (req as IncomingMessage & { body?: unknown }).body = (await readJsonBody(req, smallBodyLimits(env))).value;
    }
    keepErrorBody(req, res);
    await openApi(req as never, res as never);
    if (!res.headersSent && !res.writableEnded) {
      throw new AppError("NOT_FOUND", `No route for ${method} ${path}`);
    }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const target = requestTarget(req.url);
    res.once("close", () => {
      log.info("request", {
        method: req.method,
        path: target.path,
        status: res.statusCode,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
    route(req, res, target).catch((e) => {
      if (target.path.startsWith(LIGHTNING_PREFIX + "/")) sendLightningError(res, e, log);
      else sendError(res, e, log);
    });
  };
}

/** The number of procedures a tRPC request calls (a batch calls several): what it costs against the rate limit. */
function trpcCalls(url: string | undefined): number {
  return trpcProcedures(requestTarget(url).path).length;
}

/** The procedure names of a tRPC path (`/trpc/a,b` calls a and b), as sent. */
const trpcProcedures = (path: string): string[] => (path.startsWith("/trpc/") ? path.slice("/trpc/".length).split(",") : [path]);

interface OpenApiDocument {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

/** Method, path pattern and protection of every documented operation, so that unknown paths get our 404 body. */
function routeMatchers(doc: OpenApiDocument) {
  return Object.entries(doc.paths).flatMap(([path, item]) => {
    const pattern = new RegExp(
      "^" + path.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&")).join("[^/]+") + "/?$",
    );
    return Object.entries(item).map(([method, operation]) => ({ method: method.toUpperCase(), pattern, protected: (operation.security?.length ?? 0) > 0 }));
  });
}

export interface RunningServer {
  server: Server;
  /** e.g. http://127.0.0.1:34567 */
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS), then closes the rest. */
  stop(): Promise<void>;
}

export async function startHttpServer(services: Services, port: number, host: string): Promise<RunningServer> {
  const listener = createRequestListener(services);
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const { HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } = services.env;
  const headersTimeout = Math.min(HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
  const server = createServer(
    {
      // Node answers 408 (through 'clientError' below) when the headers, or the whole request, are late.
      headersTimeout,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 4))),
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      inFlight++;
      res.once("close", () => {
        inFlight--;
        if (inFlight === 0) drained?.();
      });
      listener(req, res);
    },
  );
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => answerClientError(err, socket, services.env));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let stopping: Promise<void> | undefined;
  return {
    server,
    url: `http://${shownHost === "0.0.0.0" ? "127.0.0.1" : shownHost === "[::]" ? "[::1]" : shownHost}:${address.port}`,
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) {
          await Promise.race([
            new Promise<void>((resolve) => (drained = resolve)),
            new Promise<void>((resolve) => setTimeout(resolve, services.env.SHUTDOWN_TIMEOUT_MS).unref()),
          ]);
        }
        server.closeAllConnections();
        await closed;
      })();
      return stopping;
    },
  };
}

/**
 * Requests Node refuses before our listener sees them: late headers or body (408 with the error body,
 * naming the limits), oversized headers (431), unparsable HTTP (400). The connection then closes.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, env: Services["env"]): void {
  // A response whose status line is out cannot be followed by another; a request of a kept-alive
  // connection after earlier answers (bytes written, none pending), or one whose answer has not started
  // (a stalled body), can still be answered.
  const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean; writableEnded?: boolean } | null })._httpMessage;
  if (err.code === "ECONNRESET" || !socket.writable || (pending?.headersSent && !pending.writableEnded)) {
    socket.destroy();
    return;
  }
  if (err.code === "HPE_HEADER_OVERFLOW") {
    socket.end("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
    return;
  }
  const [status, reason, body] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "Request Timeout", { code: "TIMEOUT", message: `The request did not arrive in time: headers are allowed ${env.HEADERS_TIMEOUT_MS} ms (HEADERS_TIMEOUT_MS), the whole request ${env.REQUEST_TIMEOUT_MS} ms (REQUEST_TIMEOUT_MS)` }]
      : [400, "Bad Request", { code: "BAD_REQUEST", message: "Malformed HTTP request" }];
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

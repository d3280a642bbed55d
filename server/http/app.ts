import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { createOpenApiExpressMiddleware } from "trpc-to-openapi";
import { createContext, type Services } from "../context.js";
import { AppError, badRequest } from "../errors.js";
import { appRouter } from "../router.js";
import { openApiJson } from "../openapi.js";
import { readJsonBody } from "./body.js";
import { serveDocs } from "./docs.js";
import { sendLightningError } from "./lightning-respond.js";
import { parseQueryString } from "./params.js";
import { applyRateLimit, RateLimiter } from "./rate-limit.js";
import { rawRoutes } from "./raw-routes.js";
import { sendError } from "./respond.js";

/** The request listener of the service: every surface, in the order SPEC §4 and the house style set. */
export function createRequestListener(services: Services) {
  const { log, env } = services;
  const openApiDocument = openApiJson();
  const openApiRoutes = routeMatchers(JSON.parse(openApiDocument) as { paths: Record<string, Record<string, unknown>> });
  // Rate limiting is decided here, for every surface; tRPC answers it in its own envelope (server/trpc.ts).
  const rateLimiter = env.RATE_LIMIT_PER_MINUTE > 0 ? new RateLimiter(env.RATE_LIMIT_PER_MINUTE) : undefined;

  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: "/trpc/",
    createContext: ({ req, res, info }) => createContext(services, "trpc", req, res, info.signal),
    maxBodySize: env.MAX_BODY_BYTES,
  });

  // The Express flavour hands the Node request through unchanged (the standalone one wraps it in a
  // Fetch Request, losing the Authorization header and the body already read below).
  const openApi = createOpenApiExpressMiddleware({
    router: appRouter,
    createContext: ({ req, res, info }) => createContext(services, "rest", req as IncomingMessage, res as ServerResponse, info?.signal),
  });

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? "GET";
    const { pathname } = url;

    if (pathname === "/openapi.json" && (method === "GET" || method === "HEAD")) {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
      res.end(method === "HEAD" ? undefined : openApiDocument);
      return;
    }
    if (pathname === "/docs" || pathname.startsWith("/docs/")) {
      if (method === "GET" && serveDocs(pathname, res)) return;
      throw new AppError("NOT_FOUND", `No route for ${method} ${pathname}`);
    }
    if (pathname === "/trpc" || pathname.startsWith("/trpc/")) {
      trpc(req, res);
      return;
    }
    for (const raw of rawRoutes) {
      if (raw.matches(method, pathname)) return raw.handle(req, res, url, services);
    }
    if (!openApiRoutes.some((r) => r.method === method && r.pattern.test(pathname))) {
      throw new AppError("NOT_FOUND", `No route for ${method} ${pathname}`);
    }
    // trpc-to-openapi fails (500) on parameter names such as `constructor` or `__proto__`; none is a
    // parameter of any route, so they are refused here, as are repeated or badly encoded ones.
    for (const param of Object.keys(parseQueryString(url.search))) {
      if (param in Object.prototype) throw badRequest(`Unknown parameter "${param}"`, [{ path: param, message: "unknown parameter" }]);
    }
    // trpc-to-openapi reads req.body when it is set: reading it here applies our limits and errors.
    if (["POST", "PUT", "PATCH", "DELETE"].includes(method) && (req.headers["content-type"] || Number(req.headers["content-length"]) > 0)) {
      (req as IncomingMessage & { body?: unknown }).body = await readJsonBody(req, env);
    }
    await openApi(req as never, res as never);
    if (!res.headersSent && !res.writableEnded) {
      throw new AppError("NOT_FOUND", `No route for ${method} ${pathname}`);
    }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      url = new URL("http://localhost/");
    }
    res.once("close", () => {
      log.info("request", {
        method: req.method,
        path: url.pathname,
        status: res.statusCode,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
    const limited = applyRateLimit(rateLimiter, req, res);
    if (limited && !url.pathname.startsWith("/trpc")) {
      if (url.pathname.startsWith("/lightning/")) sendLightningError(res, limited, log);
      else sendError(res, limited, log);
      return;
    }
    route(req, res, url).catch((e) => sendError(res, e, log));
  };
}

/** Method and path pattern of every documented operation, so that unknown paths get our 404 body. */
function routeMatchers(doc: { paths: Record<string, Record<string, unknown>> }) {
  return Object.entries(doc.paths).flatMap(([path, item]) => {
    const pattern = new RegExp(
      "^" + path.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&")).join("[^/]+") + "/?$",
    );
    return Object.keys(item).map((method) => ({ method: method.toUpperCase(), pattern }));
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
  if (err.code === "ECONNRESET" || !socket.writable || (socket as Duplex & { bytesWritten?: number }).bytesWritten) {
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

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Services } from "../context.js";
import { AppError } from "../errors.js";
import { openApiJson } from "../openapi.js";
import { appRouter } from "../router.js";
import { setCorsHeaders, preflightHeaders } from "./cors.js";
import { serveDocs } from "./docs.js";
import { sendLightningError } from "./lightning-respond.js";
import { serveMetrics } from "./metrics-route.js";
import { createProcedureHandlers, trpcAllow, trpcRouteLabel } from "./procedures.js";
import { RequestGate } from "./request-gate.js";
import { RequestScope, type ServiceResponse } from "./request-scope.js";
import { requestTarget } from "./request-target.js";
import { sendError } from "./respond.js";
import { allowOf, isLightningPath, RouteTable, type Route } from "./route-table.js";
import { StaticAsset } from "./static-asset.js";

// The request listener of the service: the request's scope (id, route, caller), the HTTP conventions
// of SPEC §8.1 (405 with Allow, HEAD, OPTIONS and CORS), the route, the error answer, the request line.

let openApiAsset: StaticAsset | undefined;
const openApiDocument = () =>
  (openApiAsset ??= new StaticAsset(Buffer.from(openApiJson()), {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-cache",
  }));

/**
 * A HEAD answered by a GET route: Node drops the body, and with it the Content-Length it would have
 * computed from an answer written in one piece; this keeps it, as the GET has it.
 */
function keepLength(res: ServerResponse): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    const [chunk] = args;
    if (
      !res.headersSent &&
      !res.hasHeader("content-length") &&
      (typeof chunk === "string" || chunk instanceof Uint8Array)
    ) {
      res.setHeader("content-length", Buffer.byteLength(chunk));
    }
    return end(...args);
  }) as ServerResponse["end"];
}

export function createRequestListener(services: Services) {
  const { log, env, metrics } = services;
  const table = new RouteTable(appRouter);
  const gate = new RequestGate(services);
  const { trpc, procedure } = createProcedureHandlers(services, gate);

  const allowed = (route: Route, scope: RequestScope) =>
    route.kind === "trpc" ? trpcAllow(scope.target.path) : allowOf(route.methods).join(", ");

  async function answer(
    req: IncomingMessage,
    res: ServerResponse,
    scope: RequestScope,
    route: Route | undefined,
  ): Promise<void> {
    const method = req.method ?? "GET";
    if (!route) throw new AppError("NOT_FOUND", `No route for ${method} ${scope.target.path}`);
    if (method === "OPTIONS") {
      const allow = allowed(route, scope);
      res.writeHead(204, {
        allow,
        ...preflightHeaders(env.CORS_ORIGINS, req.headers.origin, allow.split(", ")),
      });
      res.end();
      return;
    }
    scope.head = method === "HEAD" && route.methods.includes("GET");
    if (scope.head) keepLength(res);
    const as = scope.head ? "GET" : method;
    if (!route.methods.includes(as)) {
      const allow = allowed(route, scope);
      res.setHeader("allow", allow);
      throw new AppError(
        "METHOD_NOT_SUPPORTED",
        `Method ${method} is not allowed on ${route.template}; allowed: ${allow}`,
      );
    }
    switch (route.kind) {
      case "openapi-json":
        return openApiDocument().send(req, res);
      case "docs":
        return serveDocs(scope.target.path, req, res);
      case "metrics":
        return serveMetrics(req, res, services);
      case "trpc":
        return trpc(req, res, scope);
      case "procedure":
        return procedure(req, res, scope, route);
      case "raw":
        return route.raw!.methods[as]!(req, res, {
          services,
          scope,
          log: scope.log,
          target: scope.target,
          authenticate: (lookahead) => gate.authenticate(scope, lookahead),
        });
    }
  }

  /** The request line (SPEC §8.1) and the request's metrics, once the answer is over. */
  function finished(
    req: IncomingMessage,
    res: ServerResponse,
    scope: RequestScope,
    socket: Socket | null,
    bytesBefore: number,
  ): void {
    const seconds = Number(process.hrtime.bigint() - scope.started) / 1e9;
    metrics.observeRequest(req.method ?? "GET", scope.route, res.statusCode, seconds);
    log.info("request", {
      ...scope.ids(),
      method: req.method,
      route: scope.route,
      path: scope.target.path,
      status: res.statusCode,
      duration_ms: seconds * 1000,
      bytes_out: (socket?.bytesWritten ?? bytesBefore) - bytesBefore,
      ...scope.callerFields(),
      ...(res.writableFinished ? {} : { aborted: true }),
    });
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const target = requestTarget(req.url);
    const scope = new RequestScope(log, req, res, target);
    (res as ServiceResponse).scope = scope;
    // The connection's count of bytes written, before and after the answer (the request may lose its socket by then).
    const socket = req.socket as Socket | null;
    const bytesBefore = socket?.bytesWritten ?? 0;
    res.setHeader("x-request-id", scope.id);
    setCorsHeaders(res, env.CORS_ORIGINS, req.headers.origin);
    const route = table.find(target.path);
    if (route) scope.route = route.kind === "trpc" ? trpcRouteLabel(target.path) : route.template;
    res.once("close", () => finished(req, res, scope, socket, bytesBefore));
    answer(req, res, scope, route).catch((e) => {
      if (route?.lightning || isLightningPath(target.path)) sendLightningError(res, e, scope.log);
      else sendError(res, e, scope.log);
    });
  };
}

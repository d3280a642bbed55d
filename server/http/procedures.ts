import type { IncomingMessage, ServerResponse } from "node:http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { createOpenApiNodeHttpHandler } from "trpc-to-openapi";
import { createContext, type Services } from "../context.js";
import { AppError, badRequest, invalidParameter } from "../errors.js";
import { appRouter } from "../router.js";
import { isJsonContentType, readJsonBody, smallBodyLimits } from "./body.js";
import { parseQueryString } from "./params.js";
import type { RequestGate } from "./request-gate.js";
import { scopeOf, type RequestScope } from "./request-scope.js";
import type { Route } from "./route-table.js";
import { tryDecodePathSegment } from "./request-target.js";

// The two surfaces built from the tRPC router: tRPC itself under /trpc, and the REST routes of
// trpc-to-openapi. Both authenticate through the request gate, once per request.

type Procedures = Record<string, { _def: { type: string } }>;
const procedures = appRouter._def.procedures as unknown as Procedures;

/** The procedure names of a tRPC path (`/trpc/a,b` calls a and b), as sent. */
const trpcProcedures = (path: string): string[] =>
  path.startsWith("/trpc/") ? path.slice("/trpc/".length).split(",") : [path];

/** The label of a tRPC request: its procedure, `(batch)` for several, `(unknown)` for a name the router lacks. */
export function trpcRouteLabel(path: string): string {
  const names = trpcProcedures(path).map((p) => tryDecodePathSegment(p));
  if (names.some((n) => n === undefined || !Object.hasOwn(procedures, n))) return "/trpc/(unknown)";
  return names.length === 1 ? `/trpc/${names[0]}` : "/trpc/(batch)";
}

/** The `Allow` of a tRPC path: GET (and HEAD) for queries and subscriptions, POST for mutations. */
export const trpcAllow = (path: string): string =>
  trpcMethods(trpcProcedures(path).map((p) => tryDecodePathSegment(p) ?? ""));

/** The methods of tRPC procedures: GET (and HEAD) for queries and subscriptions (SSE), POST for mutations. */
function trpcMethods(names: readonly string[]): string {
  const types = new Set(
    names.map((name) => (Object.hasOwn(procedures, name) ? procedures[name]!._def.type : undefined)),
  );
  return [
    ...(types.has("query") || types.has("subscription") ? ["GET", "HEAD"] : []),
    ...(types.has("mutation") ? ["POST"] : []),
    "OPTIONS",
  ].join(", ");
}

/**
 * A HEAD answered by a tRPC query: the answer ends at its first byte of body. The tRPC adapter stops
 * reading a streamed query only on the request's `aborted` event (a response ended on purpose does not
 * stop it), so that is what ends the query here.
 */
function endAtFirstWrite(req: IncomingMessage, res: ServerResponse): void {
  res.write = ((..._args: unknown[]) => {
    if (!res.writableEnded) {
      res.end();
      req.emit("aborted");
    }
    return true;
  }) as ServerResponse["write"];
}

export function createProcedureHandlers(services: Services, gate: RequestGate) {
  const { env } = services;
  const requestOf = (res: ServerResponse) => {
    const scope = scopeOf(res)!;
    return { scope, request: { id: scope.id, log: scope.log } };
  };

  // tRPC reads its own body: item writes up to MAX_BODY_BYTES, everything else MAX_SMALL_BODY_BYTES.
  const trpcHandler = (maxBodySize: number) =>
    createHTTPHandler({
      router: appRouter,
      basePath: "/trpc/",
      createContext: ({ req, res, info }) => {
        const { scope, request } = requestOf(res);
        const calls = trpcProcedures(scope.target.path).length;
        return createContext(
          services,
          "trpc",
          req,
          res,
          info.signal,
          () => gate.authenticate(scope, undefined, calls),
          request,
        );
      },
      // tRPC answers a query's POST or a mutation's GET with 405: it names the methods that would do.
      responseMeta: ({ errors, paths }) =>
        errors.some((e) => e.code === "METHOD_NOT_SUPPORTED")
          ? { headers: { allow: trpcMethods(paths ?? []) } }
          : {},
      maxBodySize,
    });
  const trpcItemWrites = trpcHandler(env.MAX_BODY_BYTES);
  const trpcSmall = trpcHandler(env.MAX_SMALL_BODY_BYTES);

  /**
   * tRPC: a call that sends a body is authenticated before a byte of it is read (SPEC §6). When that
   * fails, tRPC gets an empty body and answers the failure in its own envelope; the connection closes
   * rather than reading what the client still sends.
   */
  async function trpc(req: IncomingMessage, res: ServerResponse, scope: RequestScope): Promise<void> {
    if (scope.head) {
      req.method = "GET";
      endAtFirstWrite(req, res);
    }
    if (req.method !== "POST") return trpcSmall(req, res);
    const calls = trpcProcedures(scope.target.path);
    try {
      await gate.authenticate(scope, undefined, calls.length);
    } catch {
      (req as IncomingMessage & { body?: unknown }).body = "";
      res.setHeader("connection", "close");
      return trpcSmall(req, res);
    }
    return (calls.some((p) => tryDecodePathSegment(p) === "items.upsert") ? trpcItemWrites : trpcSmall)(
      req,
      res,
    );
  }

  // The Node handler hands the request through unchanged (the standalone tRPC adapter wraps it in a
  // Fetch Request, losing the Authorization header and the body already read below).
  const openApi = createOpenApiNodeHttpHandler({
    router: appRouter,
    createContext: ({ req, res, info }) => {
      const { scope, request } = requestOf(res as ServerResponse);
      const context = createContext(
        services,
        "rest",
        req as IncomingMessage,
        res as ServerResponse,
        info?.signal,
        () => gate.authenticate(scope),
        request,
      );
      scope.restContext = context;
      return context;
    },
  });

  /** trpc-to-openapi answers an error with its own rebuild of our body (without `issues`): send ours instead. */
  function keepErrorBody(scope: RequestScope, res: ServerResponse): void {
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      const error = scope.restContext?.restError;
      if (error && res.statusCode === error.status && !res.headersSent) {
        const text = JSON.stringify(error.body);
        res.setHeader("content-type", "application/json; charset=utf-8");
        res.setHeader("content-length", Buffer.byteLength(text));
        return end(text);
      }
      return end(...args);
    }) as ServerResponse["end"];
  }

  /** A trpc-to-openapi route of the route table (its method already checked). */
  async function procedure(
    req: IncomingMessage,
    res: ServerResponse,
    scope: RequestScope,
    route: Route,
  ): Promise<void> {
    const method = req.method ?? "GET";
    // trpc-to-openapi fails (500) on parameter names such as `constructor` or `__proto__`; none is a
    // parameter of any route, so they are refused here, as are repeated or badly encoded ones.
    const query = parseQueryString(scope.target.search);
    const [repeated] = query.repeated;
    if (repeated !== undefined) throw invalidParameter(repeated, "given more than once");
    const reserved = Object.keys(query.values).find((param) => param in Object.prototype);
    if (reserved !== undefined)
      throw badRequest(`Unknown parameter "${reserved}"`, [{ path: reserved, message: "unknown parameter" }]);
    // trpc-to-openapi reads req.body when it is set: reading it here applies our limits and errors, after
    // the caller is authenticated (no body of a protected route is read for a stranger).
    if (["POST", "PUT", "PATCH", "DELETE"].includes(method)) {
      if (route.protectedMethods?.has(method)) await gate.authenticate(scope);
      if (
        method !== "DELETE" &&
        sendsNoBody(req) &&
        (!req.headers["content-type"] || isJsonContentType(req.headers["content-type"]))
      ) {
        // An input with no required field may be omitted (SPEC §4): no body is the empty object, which
        // gets the contract's defaults, or a 400 naming what is required.
        req.headers["content-type"] = "application/json";
        (req as IncomingMessage & { body?: unknown }).body = {};
      } else if (req.headers["content-type"] || Number(req.headers["content-length"]) > 0) {
        (req as IncomingMessage & { body?: unknown }).body = (
          await readJsonBody(req, smallBodyLimits(env))
        ).value;
      }
    }
    if (scope.head) req.method = "GET"; // Node sends no body for a HEAD whatever is written
    keepErrorBody(scope, res);
    await openApi(req as never, res as never, () => {
      throw new AppError("NOT_FOUND", `No route for ${method} ${scope.target.path}`);
    });
  }

  return { trpc, procedure };
}

/** A request that declares an empty body (Content-Length: 0, or neither a length nor chunked encoding). */
function sendsNoBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return length === undefined ? req.headers["transfer-encoding"] === undefined : Number(length) === 0;
}

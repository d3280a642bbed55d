import { initTRPC, TRPCError, type TRPC_ERROR_CODE_KEY } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import type { Context } from "./context.js";
import { errorStatus, type ErrorCode, type TrpcErrorShape } from "../contracts/common.js";
import { AppError, invalidInput, toAppError } from "./errors.js";
import type { Principal } from "./auth/principal.js";

// The only initTRPC of the service. Every procedure is built from the bases exported here.

function isZodError(e: unknown): e is Error & { issues: { path: PropertyKey[]; message: string }[] } {
  return e instanceof Error && e.name === "ZodError" && Array.isArray((e as { issues?: unknown }).issues);
}

/** The application error behind any tRPC error: ours, an input validation failure, or an unexpected one. */
export function appErrorOf(error: TRPCError): AppError {
  const cause = error.cause;
  if (cause instanceof AppError) return cause;
  if (error.code === "INTERNAL_SERVER_ERROR") return toAppError(cause ?? error); // includes bad output
  if (isZodError(cause)) return invalidInput(cause.issues);
  if (error.code in errorStatus) return new AppError(error.code as ErrorCode, error.message);
  return new AppError("BAD_REQUEST", error.message); // PARSE_ERROR and the like: the request was at fault
}

/** Application codes that tRPC has no name for, and the tRPC code of the same HTTP status (for 410: 404). */
const codesTrpcLacks = {
  TOO_MANY_AFFECTED: "CONFLICT",
  CHANGES_EXPIRED: "NOT_FOUND",
} as const satisfies Partial<Record<ErrorCode, TRPC_ERROR_CODE_KEY>>;

/** The TRPCError code of an application code (the application code itself travels in `data.code`). */
export function trpcCodeOf(code: ErrorCode): TRPC_ERROR_CODE_KEY {
  return Object.hasOwn(codesTrpcLacks, code)
    ? codesTrpcLacks[code as keyof typeof codesTrpcLacks]
    : (code as Exclude<ErrorCode, keyof typeof codesTrpcLacks>);
}

const t = initTRPC
  .context<Context>()
  .meta<OpenApiMeta>()
  .create({
    // Subscriptions over SSE (items.changes, SPEC §9.3) send a ping event when idle for 15 s, the REST feed's
    // default heartbeat, so that proxies keep the connection (a static setting: the root config has no env).
    sse: { ping: { enabled: true, intervalMs: 15_000 } },
    // Its declared return type is the router's error type, what a tRPC client sees (TRPCClientError#data).
    errorFormatter({ shape, error, ctx }): TrpcErrorShape {
      const app = appErrorOf(error);
      if (ctx?.surface === "rest") {
        // trpc-to-openapi rebuilds the body around this shape and drops `issues`: server/http/procedures.ts restores it. A
        // REST body, never seen by a tRPC client, so not part of the router's error type.
        ctx.restError = { status: app.status, body: app.toBody() };
        return app.toBody() as unknown as TrpcErrorShape;
      }
      return {
        message: app.message,
        code: shape.code,
        data: {
          code: app.code,
          httpStatus: app.status,
          path: shape.data.path,
          issues: app.issues ?? [],
          ...app.details,
        },
      };
    },
  });

/**
 * Converts whatever a procedure threw into a TRPCError carrying our AppError, so that every surface
 * (tRPC, REST through trpc-to-openapi, server-side callers) sees the same code, status and message.
 */
const errorModel = t.middleware(async ({ ctx, next, path }) => {
  const result = await next();
  if (result.ok) return result;
  const app = appErrorOf(result.error);
  if (
    (app.code === "SERVICE_UNAVAILABLE" || app.code === "TOO_MANY_REQUESTS") &&
    ctx.res &&
    !ctx.res.headersSent &&
    !ctx.res.hasHeader("retry-after")
  ) {
    ctx.res.setHeader("retry-after", "1");
  }
  if (app.code === "INTERNAL_SERVER_ERROR" || app.code === "SERVICE_UNAVAILABLE") {
    ctx.log.error("procedure failed", {
      path,
      code: app.code,
      error: String(result.error.cause ?? result.error),
    });
  }
  throw new TRPCError({ code: trpcCodeOf(app.code), message: app.message, cause: app });
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Anyone; no token needed. */
export const publicProcedure = t.procedure.use(errorModel);

/** A valid bearer token of any kind (user access token or run token). */
export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  // Once per request, rate limits included (server/http/request-gate.ts): every call of a batch gets the same answer.
  const principal: Principal = await ctx.authenticate();
  return next({ ctx: { ...ctx, principal } });
});

/** A user access token (token management is about a person's own tokens). */
export const userProcedure = authedProcedure.use(async ({ ctx, next }) => {
  if (ctx.principal.kind !== "user") {
    throw new AppError("FORBIDDEN", "This operation needs a user access token, not a run token");
  }
  return next({ ctx: { ...ctx, principal: ctx.principal } });
});

/** A write-scoped token: everything that changes state. */
export const writeProcedure = authedProcedure.use(async ({ ctx, next }) => {
  if (ctx.principal.scope === "read")
    throw new AppError("FORBIDDEN", "This token has read scope; it cannot change anything");
  return next();
});

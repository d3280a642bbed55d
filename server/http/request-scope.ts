import { randomUUID } from "node:crypto";
import { ServerResponse, type IncomingMessage } from "node:http";
import type { Principal } from "../auth/principal.js";
import type { Context } from "../context.js";
import { BoundLogger, type Logger } from "../log.js";
import type { RateVerdict } from "./rate-limit.js";
import type { RequestTarget } from "./request-target.js";

// What the service knows about one HTTP request while it is answered: its id, route, caller and the
// authentication decision. It lives on the response object (ServiceResponse), so that every part of
// the request's handling, and only that, reaches it.

/**
 * A request id we take as sent: 1 to 128 characters among letters, digits and `. _ ~ : / + = @ -`
 * (UUIDs, ULIDs, hex, base64 and the usual prefixed ids). Anything else is replaced by a UUID.
 */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._~:/+=@-]{1,128}$/;

export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === "string" && REQUEST_ID_PATTERN.test(header) ? header : randomUUID();
}

/**
 * The trace id of a valid W3C `traceparent` (version-traceid-parentid-flags, lower-case hex, ids not
 * all zeros; version ff is invalid, version 00 has exactly four fields), or undefined.
 */
export function traceIdOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== "string") return undefined;
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/.exec(header.trim());
  if (!m || m[1] === "ff" || (m[1] === "00" && m[5] !== undefined)) return undefined;
  if (/^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return m[2];
}

/** The label of a request whose path is no route of the service: never the raw path (SPEC §8.1). */
export const UNMATCHED_ROUTE = "(unmatched)";

export class RequestScope {
  readonly started = process.hrtime.bigint();
  readonly id: string;
  readonly traceId: string | undefined;
  /** The route template (server/http/route-table.ts), for the request line and /metrics. */
  route = UNMATCHED_ROUTE;
  /** A HEAD answered by a GET route: the status and headers of the GET, no body (and no stream read). */
  head = false;
  /** The caller, once authenticated. */
  principal: Principal | undefined;
  /** The authentication decision, made once per request whichever surface asks (request-gate.ts). */
  authentication: Promise<Principal> | undefined;
  /** The rate-limit verdict of the request's token, when a limit is configured. */
  rateVerdict: RateVerdict | undefined;
  /** The tRPC context of a trpc-to-openapi call: its formatter leaves the error body there (procedures.ts). */
  restContext: Context | undefined;
  private logger: Logger | undefined;

  constructor(
    private readonly baseLog: Logger,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly target: RequestTarget,
  ) {
    this.id = requestIdOf(req.headers["x-request-id"]);
    this.traceId = traceIdOf(req.headers.traceparent);
  }

  /** The services' logger with this request's id (and trace id) on every line. */
  get log(): Logger {
    return (this.logger ??= new BoundLogger(this.baseLog, this.ids()));
  }

  ids(): Record<string, string> {
    return this.traceId ? { request_id: this.id, trace_id: this.traceId } : { request_id: this.id };
  }

  /** Who called, for the request line: user or run, and the token's id (never the token). */
  callerFields(): Record<string, string> | undefined {
    const p = this.principal;
    if (!p) return undefined;
    return p.kind === "user"
      ? { user_id: p.userId, token_id: p.tokenId }
      : { run_id: p.runId, project_id: p.projectId };
  }
}

/** The challenge of a 401 (RFC 6750): `error="invalid_token"` when a bearer token was sent. */
export function bearerChallenge(authorization: string | undefined): string {
  const sent = authorization !== undefined && /^bearer\s+\S/i.test(authorization.trim());
  return sent ? 'Bearer realm="collections", error="invalid_token"' : 'Bearer realm="collections"';
}

/**
 * The response class of the server (http.createServer's `ServerResponse` option): it carries the
 * request's scope, and every 401, whichever surface answers it, gets its `WWW-Authenticate`.
 */
export class ServiceResponse extends ServerResponse<IncomingMessage> {
  scope: RequestScope | undefined;

  override writeHead(statusCode: number, ...rest: unknown[]): this {
    if (statusCode === 401 && !this.hasHeader("www-authenticate"))
      this.setHeader("www-authenticate", bearerChallenge(this.req.headers.authorization));
    return (super.writeHead as (status: number, ...rest: unknown[]) => this)(statusCode, ...rest);
  }
}

export const scopeOf = (res: ServerResponse): RequestScope | undefined => (res as ServiceResponse).scope;

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Database } from "./db.js";
import type { Env } from "./env.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./observability/metrics.js";
import type { CollectionLookahead, Principal } from "./auth/principal.js";
import type { UserTokenInfo } from "./auth/user-tokens.js";
import type { TokenScope } from "../contracts/common.js";

/** Issues and verifies tokens (implemented in server/auth). */
export interface AuthService {
  /**
   * Verifies an Authorization header; throws AppError UNAUTHORIZED for anything it does not accept.
   * `lookahead`: the collection the request names, read in the same statement as the token.
   */
  authenticate(authorization: string | undefined, lookahead?: CollectionLookahead): Promise<Principal>;
  /** `notAfter`: the instant the new token must not outlive (the expiry of the token it is created with, SPEC §2). */
  createUserToken(input: {
    userId: string;
    label?: string;
    scope?: TokenScope;
    expiresInSeconds?: number;
    notAfter?: Date;
  }): Promise<{ id: string; token: string; expiresAt: Date | null }>;
  /** False when there is no such token (of `ownerId`, when given). Revoking twice is fine. */
  revokeUserToken(id: string, ownerId?: string): Promise<boolean>;
  /** A user's tokens, newest first, revoked and expired ones included. */
  listUserTokens(userId: string): Promise<UserTokenInfo[]>;
  /** Throws AppError BAD_REQUEST for a ttl above RUN_TOKEN_MAX_TTL_SECONDS or an unusable run id. */
  createRunToken(input: {
    projectId: string;
    runId?: string;
    ttlSeconds?: number;
    notAfter?: Date;
  }): Promise<{ token: string; expiresAt: Date; runId: string }>;
}

/** Everything a request handler may use, built once at boot (server/main.ts, test helpers). */
export interface Services {
  env: Env;
  db: Database;
  log: Logger;
  auth: AuthService;
  /** This instance's Prometheus registry and counters (GET /metrics). */
  metrics: Metrics;
}

export interface Context {
  services: Services;
  /** The raw Authorization header; verified on demand by the authenticated procedure bases. */
  authorization: string | undefined;
  /** The request's id (server/http/request-scope.ts), for audit lines; undefined for server-side callers. */
  requestId?: string;
  /** The services' logger, with the request's id on every line. */
  log: Logger;
  /** Which surface the call came through: it decides the error body (server/trpc.ts). */
  surface: "trpc" | "rest" | "caller";
  req?: IncomingMessage;
  res?: ServerResponse;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /** The caller's principal (401 or 429 otherwise), decided once per request. */
  authenticate(): Promise<Principal>;
  /** The error a REST call answered with (set by the error formatter, server/trpc.ts; read by server/http/procedures.ts). */
  restError?: { status: number; body: unknown };
}

export function createContext(
  services: Services,
  surface: Context["surface"],
  req?: IncomingMessage,
  res?: ServerResponse,
  signal?: AbortSignal,
  authenticate?: () => Promise<Principal>,
  request?: { id: string; log: Logger },
): Context {
  const header = req?.headers.authorization;
  return {
    services,
    authorization: header,
    requestId: request?.id,
    log: request?.log ?? services.log,
    surface,
    req,
    res,
    signal,
    authenticate: authenticate ?? (() => services.auth.authenticate(header)),
  };
}

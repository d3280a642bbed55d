import type { CollectionLookahead, Principal } from "../auth/principal.js";
import type { Services } from "../context.js";
import { AppError } from "../errors.js";
import { RateLimiter, tooManyRequests, type RateVerdict } from "./rate-limit.js";
import type { RequestScope } from "./request-scope.js";

/** The bucket of a verified token: its id, never its text (another spelling of one signature is the same token). */
const bucketOf = (p: Principal) => (p.kind === "user" ? `token:${p.tokenId}` : `run:${p.runId}`);

/**
 * Authentication of an HTTP request, once per request whichever surface asks (a raw route, a
 * trpc-to-openapi procedure, each call of a tRPC batch), and the rate limits that follow from it
 * (SPEC §6): RATE_LIMIT_PER_MINUTE per verified token, a tRPC batch costing one per call, and
 * AUTH_FAILURES_PER_MINUTE failed authentications per client address. The decision is kept on the
 * request's scope.
 */
export class RequestGate {
  private readonly perToken?: RateLimiter;
  private readonly failures?: RateLimiter;

  constructor(private readonly services: Services) {
    const { RATE_LIMIT_PER_MINUTE, AUTH_FAILURES_PER_MINUTE, RATE_LIMIT_MAX_BUCKETS } = services.env;
    if (RATE_LIMIT_PER_MINUTE > 0)
      this.perToken = new RateLimiter(RATE_LIMIT_PER_MINUTE, RATE_LIMIT_MAX_BUCKETS);
    if (AUTH_FAILURES_PER_MINUTE > 0)
      this.failures = new RateLimiter(AUTH_FAILURES_PER_MINUTE, RATE_LIMIT_MAX_BUCKETS);
  }

  /**
   * The request's principal (401 or 429 otherwise). The first call decides, with its `lookahead` (what
   * the token check may read along) and `cost` (calls the request makes); later calls get the same answer.
   */
  authenticate(scope: RequestScope, lookahead?: CollectionLookahead, cost = 1): Promise<Principal> {
    if (!scope.authentication) {
      scope.authentication = this.decide(scope, lookahead, cost);
      scope.authentication.catch(() => {}); // a caller awaits it; a rejection nobody else awaits is not "unhandled"
    }
    return scope.authentication;
  }

  private async decide(
    scope: RequestScope,
    lookahead: CollectionLookahead | undefined,
    cost: number,
  ): Promise<Principal> {
    const { req } = scope;
    let principal: Principal;
    try {
      principal = await this.services.auth.authenticate(req.headers.authorization, lookahead);
    } catch (e) {
      if (this.failures && e instanceof AppError && e.code === "UNAUTHORIZED") {
        const v = this.failures.take(`address:${req.socket.remoteAddress ?? "unknown"}`);
        if (v.limited) {
          setHeaders(scope, v);
          throw tooManyRequests(
            `Too many failed authentications from this address: at most ${v.limit} a minute (AUTH_FAILURES_PER_MINUTE); retry after ${v.retryAfterSeconds} s`,
          );
        }
      }
      throw e;
    }
    scope.principal = principal;
    if (this.perToken) {
      const v = this.perToken.take(bucketOf(principal), cost);
      setHeaders(scope, v);
      if (v.limited) {
        throw tooManyRequests(
          `Too many requests: this token may make ${v.limit} requests a minute (RATE_LIMIT_PER_MINUTE)${cost > 1 ? `, and this one makes ${cost} calls` : ""}; retry after ${v.retryAfterSeconds} s`,
        );
      }
    }
    return principal;
  }
}

function setHeaders(scope: RequestScope, v: RateVerdict): void {
  scope.rateVerdict = v;
  const { res } = scope;
  if (res.headersSent) return;
  res.setHeader("ratelimit-limit", String(v.limit));
  res.setHeader("ratelimit-remaining", String(v.remaining));
  res.setHeader("ratelimit-reset", String(v.resetSeconds));
  if (v.limited) res.setHeader("retry-after", String(v.retryAfterSeconds));
}

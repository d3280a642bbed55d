import type { ServerResponse } from "node:http";

// CORS (SPEC §8.1): off unless CORS_ORIGINS lists origins. Tokens travel in the Authorization header,
// never in cookies, so no answer allows credentials and `*` (any origin) is a possible setting.

/** Response headers a browser script may read besides the safelisted ones. */
const EXPOSED =
  "ETag, X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, WWW-Authenticate, Allow";
/** Request headers a browser script may send: the ones the API and its tRPC client read. */
const ALLOWED_HEADERS =
  "Authorization, Content-Type, X-Request-Id, traceparent, tracestate, If-Match, If-None-Match, trpc-accept, x-trpc-source";
/** How long a browser may keep a preflight's answer (Chromium keeps at most 2 hours). */
const MAX_AGE_SECONDS = "7200";

/** The Access-Control-Allow-Origin value for a request's Origin, or undefined when it is not allowed. */
export function allowedOrigin(origins: readonly string[], origin: string | undefined): string | undefined {
  if (origins.length === 0 || origin === undefined) return undefined;
  if (origins[0] === "*") return "*";
  return origins.includes(origin.toLowerCase()) ? origin : undefined;
}

/** The CORS headers of an actual (non-preflight) answer, set before any handler writes it. */
export function setCorsHeaders(
  res: ServerResponse,
  origins: readonly string[],
  origin: string | undefined,
): void {
  if (origins.length === 0) return;
  if (origins[0] !== "*") res.setHeader("vary", "Origin");
  const allowed = allowedOrigin(origins, origin);
  if (allowed === undefined) return;
  res.setHeader("access-control-allow-origin", allowed);
  res.setHeader("access-control-expose-headers", EXPOSED);
}

/** The headers that answer a preflight for a path whose methods are `methods` (already set: the actual-answer ones). */
export function preflightHeaders(
  origins: readonly string[],
  origin: string | undefined,
  methods: readonly string[],
): Record<string, string> {
  if (allowedOrigin(origins, origin) === undefined) return {};
  return {
    "access-control-allow-methods": methods.join(", "),
    "access-control-allow-headers": ALLOWED_HEADERS,
    "access-control-max-age": MAX_AGE_SECONDS,
  };
}

import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError } from "../errors.js";

/** What one request costs against its token's bucket, and the headers that say so. */
export interface RateVerdict {
  limited: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until one more request is allowed (only meaningful when limited). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_TRACKED = 10_000;

/**
 * An in-memory token bucket per bearer token: `perMinute` requests in a burst, refilled at `perMinute`
 * a minute. Keyed by a digest of the token itself, so that a forged token cannot spend another's budget.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = perMinute / 60_000;
  }

  take(token: string): RateVerdict {
    const key = createHash("sha256").update(token).digest("base64url");
    const now = this.now();
    if (this.buckets.size >= MAX_TRACKED && !this.buckets.has(key)) this.forgetFullBuckets(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    const limited = bucket.tokens < 1;
    if (!limited) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return {
      limited,
      limit: this.perMinute,
      remaining: Math.floor(bucket.tokens),
      resetSeconds: Math.ceil((this.perMinute - bucket.tokens) / this.perMs / 1000),
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000)),
    };
  }

  /** Buckets that refilled completely carry no state worth keeping. */
  private forgetFullBuckets(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.perMinute) this.buckets.delete(key);
    }
  }
}

const limitedRequests = new WeakSet<IncomingMessage>();

/** The bearer token of a request, unverified (only its digest is used, as the bucket's name). */
function bearerOf(req: IncomingMessage): string | undefined {
  const m = /^Bearer[ \t]+(\S+)/i.exec(req.headers.authorization ?? "");
  return m?.[1];
}

/**
 * Spends one request of the caller's token and sets the RateLimit-* headers (and Retry-After when over
 * the limit). Returns the 429 error to answer with, or null. Requests without a bearer token are not
 * counted (they are refused with 401 wherever a token is needed).
 */
export function applyRateLimit(limiter: RateLimiter | undefined, req: IncomingMessage, res: ServerResponse): AppError | null {
  const token = limiter && bearerOf(req);
  if (!limiter || !token) return null;
  const v = limiter.take(token);
  res.setHeader("ratelimit-limit", String(v.limit));
  res.setHeader("ratelimit-remaining", String(v.remaining));
  res.setHeader("ratelimit-reset", String(v.resetSeconds));
  if (!v.limited) return null;
  res.setHeader("retry-after", String(v.retryAfterSeconds));
  limitedRequests.add(req);
  return tooManyRequests(v.limit, v.retryAfterSeconds);
}

export function tooManyRequests(limit: number, retryAfterSeconds: number): AppError {
  return new AppError(
    "TOO_MANY_REQUESTS",
    `Too many requests: this token may make ${limit} requests a minute (RATE_LIMIT_PER_MINUTE); retry after ${retryAfterSeconds} s`,
  );
}

/** Whether applyRateLimit refused this request (tRPC answers it in its own envelope, server/trpc.ts). */
export const wasRateLimited = (req: IncomingMessage | undefined): boolean => req !== undefined && limitedRequests.has(req);

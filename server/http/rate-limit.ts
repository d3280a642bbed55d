import { AppError } from "../errors.js";

/** What one request costs against a bucket, and the headers that say so. */
export interface RateVerdict {
  limited: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until `cost` more is allowed (only meaningful when limited). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * In-memory token buckets: `perMinute` in a burst, refilled at `perMinute` a minute. The table keeps at
 * most `maxBuckets`; a Map iterates in insertion order and every use re-inserts its bucket, so the least
 * recently used bucket is the first key and goes in O(1) when a new one needs room.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly maxBuckets: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = perMinute / 60_000;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Spends `cost` of the bucket `key` unless it holds less (then `limited`, and nothing is spent). */
  take(key: string, cost = 1): RateVerdict {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket) this.buckets.delete(key);
    else {
      bucket = { tokens: this.perMinute, at: now };
      if (this.buckets.size >= this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
    }
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    const limited = bucket.tokens < cost;
    if (!limited) bucket.tokens -= cost;
    this.buckets.set(key, bucket);
    return {
      limited,
      limit: this.perMinute,
      remaining: Math.max(0, Math.floor(bucket.tokens)),
      resetSeconds: Math.ceil((this.perMinute - bucket.tokens) / this.perMs / 1000),
      retryAfterSeconds: Math.max(
        1,
        Math.ceil((Math.min(cost, this.perMinute) - bucket.tokens) / this.perMs / 1000),
      ),
    };
  }
}

export function tooManyRequests(message: string): AppError {
  return new AppError("TOO_MANY_REQUESTS", message);
}

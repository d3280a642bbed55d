import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../server/http/rate-limit.js";

describe("RateLimiter", () => {
  it("a token bucket: a burst of N, then refilled at N a minute", () => {
    let now = 0;
    const limiter = new RateLimiter(60, 10_000, () => now);
    for (let i = 0; i < 60; i++) expect(limiter.take("t").limited).toBe(false);
    expect(limiter.take("t")).toMatchObject({ limited: true, remaining: 0, retryAfterSeconds: 1 });
    expect(limiter.take("other").limited).toBe(false);
    now += 1000;
    expect(limiter.take("t").limited).toBe(false);
    expect(limiter.take("t").limited).toBe(true);
    now += 60_000;
    expect(limiter.take("t")).toMatchObject({ limited: false, remaining: 59, resetSeconds: 1 });
  });

  it("a call that costs more than what is left is refused whole and spends nothing", () => {
    const limiter = new RateLimiter(10, 10, () => 0);
    expect(limiter.take("t", 8)).toMatchObject({ limited: false, remaining: 2 });
    expect(limiter.take("t", 3)).toMatchObject({ limited: true, remaining: 2 });
    expect(limiter.take("t", 2)).toMatchObject({ limited: false, remaining: 0 });
  });

  it("keeps at most maxBuckets, forgetting the least recently used first", () => {
    let now = 0;
    const limiter = new RateLimiter(5, 3, () => now);
    for (const k of ["a", "b", "c"]) limiter.take(k, 5);
    now += 1;
    limiter.take("a"); // a is now the most recently used: b is the oldest
    limiter.take("d");
    expect(limiter.size).toBe(3);
    // a kept its (empty) bucket; b was forgotten and starts full again.
    expect(limiter.take("a").limited).toBe(true);
    expect(limiter.take("b", 5).limited).toBe(false);
    for (let i = 0; i < 10_000; i++) limiter.take(`k${i}`);
    expect(limiter.size).toBe(3);
  });
});

import { describe, expect, it } from "vitest";
import { VerifiedTokens } from "../../server/auth/verified-tokens.js";

// Our own tokens' verified claims are remembered (server/auth/verified-tokens.ts): never past the
// token's expiry or the maximum age, and never more than the maximum number of entries.

const user = { kind: "user" as const, userId: "u", tokenId: "t" };

describe("VerifiedTokens", () => {
  it("forgets a token when it expires, and any token after the maximum age", () => {
    let now = 1_000_000;
    const cache = new VerifiedTokens(10, 60_000, () => now);
    cache.remember("expiring", user, now + 5_000);
    cache.remember("lasting", user, undefined);
    expect(cache.get("expiring")).toEqual(user);
    now += 5_000;
    expect(cache.get("expiring")).toBeUndefined();
    expect(cache.get("lasting")).toEqual(user);
    now += 55_000;
    expect(cache.get("lasting")).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("drops the oldest entry when full", () => {
    const cache = new VerifiedTokens(2);
    cache.remember("one", user, undefined);
    cache.remember("two", user, undefined);
    cache.remember("three", user, undefined);
    expect(cache.size).toBe(2);
    expect(cache.get("one")).toBeUndefined();
    expect(cache.get("three")).toEqual(user);
  });

  it("knows only the exact token text", () => {
    const cache = new VerifiedTokens();
    cache.remember("header.payload.signature", user, undefined);
    expect(cache.get("header.payload.signaturf")).toBeUndefined();
  });
});

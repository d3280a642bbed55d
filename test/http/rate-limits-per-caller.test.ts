import { describe, expect } from "vitest";
import { it } from "../support/fixtures.js";
import { rawRequest } from "../support/raw.js";

// SPEC §6: rate limits count what a caller does: one bucket per verified token (not per spelling of it),
// every call of a tRPC batch, and failed authentication per client address.

it.override({ serverEnv: { RATE_LIMIT_PER_MINUTE: "3", AUTH_FAILURES_PER_MINUTE: "4" } });

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * The same token with another spelling of its signature: an ES256 signature is 64 bytes, 86 base64url
 * characters of which the last carries 2 bits; its 4 low bits are ignored when decoding.
 */
function respelled(token: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(token.at(-1)!);
  const other = alphabet[(last & 0b110000) | ((last + 1) & 0b001111)]!;
  return token.slice(0, -1) + other;
}

describe("rate limits per caller", () => {
  it("another spelling of one token's signature is the same token and shares its bucket", async ({
    server,
    tenant,
  }) => {
    const { token } = tenant.users.viewer;
    const other = respelled(token);
    expect(other).not.toBe(token);
    const first = await rawRequest(server, "GET", "/collections", bearer(other));
    expect(first.status, first.text).toBe(200); // it verifies: the same signature bytes
    for (let i = 0; i < 2; i++)
      expect((await rawRequest(server, "GET", "/collections", bearer(token))).status).toBe(200);
    const over = await rawRequest(server, "GET", "/collections", bearer(respelled(other)));
    expect(over.status).toBe(429);
    expect(over.body.code).toBe("TOO_MANY_REQUESTS");
  });

  it("a tRPC batch costs one per call", async ({ server, tenant }) => {
    const headers = tenant.users.editor.headers;
    const four = await fetch(
      `${server.url}/trpc/collections.list,collections.list,collections.list,collections.list?batch=1&input=%7B%7D`,
      { headers },
    );
    expect(four.status).toBe(429);
    const three = await fetch(
      `${server.url}/trpc/collections.list,collections.list,collections.list?batch=1&input=%7B%7D`,
      { headers },
    );
    expect(three.status).toBe(200);
    expect(three.headers.get("ratelimit-remaining")).toBe("0");
  });

  it("failed authentications are limited per client address, without a bucket per bad token", async ({
    server,
    tenant,
  }) => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await rawRequest(server, "GET", "/collections", bearer(`garbage.${i}.x`))).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    const limited = await rawRequest(server, "GET", "/lightning/collections/x", bearer("garbage.7.x"));
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: expect.stringMatching(/AUTH_FAILURES_PER_MINUTE/) });
    // A valid token is not held back by others' failures.
    expect((await rawRequest(server, "GET", "/collections", tenant.users.owner.headers)).status).toBe(200);
  });
});

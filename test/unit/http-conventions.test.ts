import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "../../server/env.js";
import { allowedOrigin } from "../../server/http/cors.js";
import { bearerChallenge, requestIdOf, traceIdOf } from "../../server/http/request-scope.js";
import { allowOf } from "../../server/http/route-table.js";
import { chooseEncoding, matchesEtag } from "../../server/http/static-asset.js";

describe("request ids", () => {
  it("keeps a well-formed X-Request-Id and replaces anything else with a UUID", () => {
    for (const ok of [
      "a",
      "req-1",
      "0b7c8e43-5c5b-4c43-8a55-4d7a4c1b2a10",
      "YWJj+/=",
      "a".repeat(128),
      "x.y_z~1:2@3",
    ])
      expect(requestIdOf(ok)).toBe(ok);
    for (const bad of [undefined, "", "a".repeat(129), "a b", "é", "a\tb", 'a"b', "a,b", "a;b", ["a", "b"]]) {
      expect(requestIdOf(bad as string | undefined)).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("reads the trace id of a valid traceparent only", () => {
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    expect(traceIdOf(`00-${trace}-00f067aa0ba902b7-01`)).toBe(trace);
    expect(traceIdOf(`01-${trace}-00f067aa0ba902b7-01-more`)).toBe(trace); // a later version may add fields
    for (const bad of [
      undefined,
      "",
      `00-${trace}-00f067aa0ba902b7-01-more`,
      `ff-${trace}-00f067aa0ba902b7-01`,
      `00-${"0".repeat(32)}-00f067aa0ba902b7-01`,
      `00-${trace}-${"0".repeat(16)}-01`,
      `00-${trace.toUpperCase()}-00f067aa0ba902b7-01`,
      `00-${trace}-00f067aa0ba902b7`,
    ]) {
      expect(traceIdOf(bad), bad).toBeUndefined();
    }
  });
});

describe("WWW-Authenticate", () => {
  it("says invalid_token only when a bearer token was sent", () => {
    expect(bearerChallenge(undefined)).toBe('Bearer realm="collections"');
    expect(bearerChallenge("Basic abc")).toBe('Bearer realm="collections"');
    expect(bearerChallenge("Bearer ")).toBe('Bearer realm="collections"');
    expect(bearerChallenge("bearer x.y.z")).toBe('Bearer realm="collections", error="invalid_token"');
  });
});

describe("Allow", () => {
  it("adds HEAD where GET is, and OPTIONS, in a fixed order", () => {
    expect(allowOf(["DELETE", "GET", "POST"])).toEqual(["GET", "HEAD", "POST", "DELETE", "OPTIONS"]);
    expect(allowOf(["PUT"])).toEqual(["PUT", "OPTIONS"]);
  });
});

describe("Accept-Encoding", () => {
  it.each([
    [undefined, "identity"],
    ["", "identity"],
    ["gzip", "gzip"],
    ["br", "br"],
    ["gzip, br", "br"],
    ["gzip;q=1, br;q=0.5", "gzip"],
    ["br;q=0", "identity"],
    ["*", "br"],
    ["*;q=0.3, br;q=0", "gzip"],
    ["identity, deflate", "identity"],
    ["GZIP", "gzip"],
    ["x-gzip", "gzip"],
    ["br;q=abc, gzip;q=0.1", "gzip"],
  ] as const)("%s → %s", (header, encoding) => {
    expect(chooseEncoding(header)).toBe(encoding);
  });

  it("compares entity tags weakly, in lists and with *", () => {
    expect(matchesEtag('"a"', '"a"')).toBe(true);
    expect(matchesEtag('W/"a"', '"a"')).toBe(true);
    expect(matchesEtag('"b", "a"', '"a"')).toBe(true);
    expect(matchesEtag("*", '"a"')).toBe(true);
    expect(matchesEtag('"a-br"', '"a"')).toBe(false);
    expect(matchesEtag(undefined, '"a"')).toBe(false);
  });
});

describe("CORS_ORIGINS", () => {
  it("parses a comma-separated list of origins, or *", () => {
    expect(parseEnv({ CORS_ORIGINS: " https://A.example.com , http://localhost:5173" }).CORS_ORIGINS).toEqual(
      ["https://a.example.com", "http://localhost:5173"],
    );
    expect(parseEnv({}).CORS_ORIGINS).toEqual([]);
    expect(parseEnv({ CORS_ORIGINS: "*" }).CORS_ORIGINS).toEqual(["*"]);
  });

  it("refuses what is not an origin, and * among others", () => {
    for (const bad of [
      "https://a.example.com/",
      "a.example.com",
      "ftp://x",
      "*, https://a.example.com",
      "https://a.example.com/path",
    ]) {
      expect(() => parseEnv({ CORS_ORIGINS: bad }), bad).toThrow(ConfigError);
    }
  });

  it("matches an Origin header exactly (case-insensitively)", () => {
    const list = ["https://a.example.com"];
    expect(allowedOrigin(list, "https://a.example.com")).toBe("https://a.example.com");
    expect(allowedOrigin(list, "HTTPS://A.EXAMPLE.COM")).toBe("HTTPS://A.EXAMPLE.COM");
    expect(allowedOrigin(list, "https://a.example.com.evil")).toBeUndefined();
    expect(allowedOrigin(list, "http://a.example.com")).toBeUndefined();
    expect(allowedOrigin(list, undefined)).toBeUndefined();
    expect(allowedOrigin([], "https://a.example.com")).toBeUndefined();
    expect(allowedOrigin(["*"], "null")).toBe("*");
  });
});

import { afterAll, beforeAll, describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { rawRequest } from "../support/raw.js";
import { startTestServer, type TestServer } from "../support/server.js";

// SPEC §8.1: CORS is off unless CORS_ORIGINS lists origins; then preflights are answered and the
// actual answers name the allowed origin and expose ETag and X-Request-Id.

const APP = "https://app.example.com";
const preflight = (origin: string, method = "POST") => ({
  origin,
  "access-control-request-method": method,
  "access-control-request-headers": "authorization, content-type",
});

describe("CORS off (no CORS_ORIGINS)", () => {
  test("no CORS header on a preflight or an actual answer", async ({ server }) => {
    const pre = await rawRequest(server, "OPTIONS", "/collections", preflight(APP, "GET"));
    expect(pre.status).toBe(204);
    expect([...pre.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
    const actual = await rawRequest(server, "GET", "/health", { origin: APP });
    expect([...actual.headers.keys()].filter((k) => k.startsWith("access-control-") || k === "vary")).toEqual(
      [],
    );
  });
});

describe("CORS_ORIGINS lists origins", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CORS_ORIGINS: `${APP}, http://localhost:5173` });
  });
  afterAll(async () => {
    await server?.close();
  });

  test("a preflight from a listed origin: 204 with the path's methods, the headers a client sends, max-age", async () => {
    const r = await rawRequest(server, "OPTIONS", "/tokens", preflight(APP));
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
    expect(r.headers.get("access-control-allow-origin")).toBe(APP);
    expect(r.headers.get("access-control-allow-methods")).toBe("GET, HEAD, POST, OPTIONS");
    expect(r.headers.get("access-control-allow-headers")).toMatch(
      /Authorization.*Content-Type.*X-Request-Id/,
    );
    expect(r.headers.get("access-control-max-age")).toBe("7200");
    expect(r.headers.get("vary")).toMatch(/Origin/);
    expect(r.headers.get("access-control-allow-credentials")).toBeNull();
    const trpc = await rawRequest(
      server,
      "OPTIONS",
      "/trpc/collections.create",
      preflight("http://localhost:5173"),
    );
    expect(trpc.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(trpc.headers.get("access-control-allow-methods")).toBe("POST, OPTIONS");
  });

  test("an actual answer to a listed origin names it, varies by Origin and exposes ETag and X-Request-Id (errors too)", async () => {
    for (const [method, path] of [
      ["GET", "/health"],
      ["GET", "/collections"],
      ["GET", "/nope"],
    ] as const) {
      const r = await rawRequest(server, method, path, { origin: APP });
      expect(r.headers.get("access-control-allow-origin"), path).toBe(APP);
      expect(r.headers.get("vary"), path).toMatch(/Origin/);
      expect(r.headers.get("access-control-expose-headers"), path).toMatch(/ETag.*X-Request-Id/);
    }
  });

  test("another origin gets no CORS header (the browser then refuses), only Vary", async () => {
    const pre = await rawRequest(
      server,
      "OPTIONS",
      "/collections",
      preflight("https://evil.example.com", "GET"),
    );
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(pre.headers.get("access-control-allow-methods")).toBeNull();
    const actual = await rawRequest(server, "GET", "/health", {
      origin: "https://app.example.com.evil.example",
    });
    expect(actual.headers.get("access-control-allow-origin")).toBeNull();
    expect(actual.headers.get("vary")).toMatch(/Origin/);
  });

  test("a preflight of an unknown path is 404", async () => {
    expect((await rawRequest(server, "OPTIONS", "/nope", preflight(APP))).status).toBe(404);
  });
});

describe("CORS_ORIGINS=*", () => {
  test("any origin, answered with *", async () => {
    const server = await startTestServer({ CORS_ORIGINS: "*" });
    try {
      const r = await rawRequest(server, "GET", "/health", { origin: "https://anywhere.example" });
      expect(r.headers.get("access-control-allow-origin")).toBe("*");
      const pre = await rawRequest(
        server,
        "OPTIONS",
        "/collections",
        preflight("https://anywhere.example", "GET"),
      );
      expect(pre.headers.get("access-control-allow-origin")).toBe("*");
      expect(pre.headers.get("access-control-allow-methods")).toBe("GET, HEAD, OPTIONS");
    } finally {
      await server.close();
    }
  });
});

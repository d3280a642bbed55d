import { readFileSync } from "node:fs";
import { describe, expect } from "vitest";
import { it } from "../support/fixtures.js";
import { startTestServer } from "../support/server.js";

// What every caller sees of the server before any collection: health, the documents, the error body.

describe("HTTP surface", () => {
  it("GET /health answers 200 when the database answers", async ({ server }) => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("ok");
  });

  it("serves the committed openapi.json", async ({ server }) => {
    const res = await fetch(`${server.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(await res.text()).toBe(readFileSync(new URL("../../openapi.json", import.meta.url), "utf8"));
  });

  it("serves /docs and its assets from the package, with security headers", async ({ server }) => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const html = await page.text();
    expect(html).toContain("/docs/swagger-ui-bundle.js");
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await fetch(`${server.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });

  it.for([
    ["GET", "/nope"],
    ["POST", "/nope/deeper"],
    ["GET", "/docs/../../etc/passwd"],
    ["DELETE", "/openapi"],
  ])("answers %s %s with 404 and the error body", async ([method, path], { server }) => {
    const res = await fetch(`${server.url}${path}`, { method });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const body = await res.json();
    expect(body).toEqual({ code: "NOT_FOUND", message: expect.stringMatching(/No route|Not found/i) });
  });

  it("answers /health with 503 and the error body when the database is gone, and keeps serving", async () => {
    const own = await startTestServer();
    try {
      await own.services.db.close();
      const res = await fetch(`${own.url}/health`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ code: "SERVICE_UNAVAILABLE", message: expect.any(String) });
      expect((await fetch(`${own.url}/openapi.json`)).status).toBe(200);
    } finally {
      await own.running.stop();
    }
  });
});

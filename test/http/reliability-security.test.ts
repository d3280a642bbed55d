import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { assertNoInternals, rawRequest } from "../support/raw.js";

// Security hygiene (SPEC §6): no internals in answers, no token in the logs, security headers on /docs.

const it = test.extend("collection", { scope: "file" }, ({ tenant }) => tenant.collection());
it.override({ serverEnv: { LOG_LEVEL: "debug" } });

describe("security hygiene", () => {
  it("never logs a token, whether it is accepted, refused or malformed", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const token = tenant.users.editor.token;
    const forged = token.slice(0, -4) + "AAAA";
    const json = { "content-type": "application/json" };
    await rawRequest(server, "GET", `/collections/${name}`, { authorization: `Bearer ${token}` });
    await rawRequest(
      server,
      "POST",
      `/collections/${name}`,
      { authorization: `Bearer ${token}`, ...json },
      "[{bad json",
    );
    await rawRequest(server, "GET", `/collections/${name}`, { authorization: `Bearer ${forged}` });
    await rawRequest(server, "GET", `/lightning/collections/${name}`, { authorization: `Bearer ${forged}` });
    await rawRequest(server, "GET", `/trpc/collections.list`, { authorization: `Bearer ${forged}` });
    await rawRequest(server, "GET", `/collections`, { authorization: `Basic ${token}` });
    await new Promise((r) => setTimeout(r, 50));
    const logged = JSON.stringify(server.services.logs);
    expect(server.services.logs.length).toBeGreaterThan(5);
    for (const secret of [token, forged, token.split(".")[2]!, token.split(".")[1]!])
      expect(logged).not.toContain(secret);
    expect(logged).not.toMatch(/Bearer/i);
  });

  it("answers show no stack, SQL or file path, even for input that reaches the database", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const auth = tenant.users.owner.headers;
    for (const path of [
      `/collections/${name}/${encodeURIComponent("'; SELECT pg_sleep(1); --")}`,
      `/collections/${name}?cursor=${"A".repeat(200)}`,
      `/collections/${name}?created_after=99999-01-01`,
      `/collections/${name}?limit=9007199254740993`,
      `/lightning/collections/${name}?cursor=${"z".repeat(64)}`,
      `/trpc/items.get?input=${encodeURIComponent('{"name":"x","limit":"a"}')}`,
      `/nowhere`,
    ]) {
      const r = await rawRequest(server, "GET", path, auth);
      expect(r.status, path).toBeLessThan(500);
      assertNoInternals(r.text);
    }
  });

  it("/docs carries security headers", async ({ server }) => {
    for (const path of ["/docs", "/docs/init.js", "/docs/swagger-ui.css"]) {
      const r = await rawRequest(server, "GET", path);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-security-policy")).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("x-frame-options")).toBe("DENY");
      expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    }
  });
});

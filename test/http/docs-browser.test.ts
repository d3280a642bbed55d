import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { chromium, type Browser } from "playwright-core";
import { findChromium } from "../support/browser.js";
import { browserTestEnv } from "../support/env.js";
import { startTestServer, type TestServer } from "../support/server.js";

// /docs as a person sees it: Chromium (found by test/support/browser.ts; .ci/run installs Debian's and
// makes this test mandatory) renders the operations. Playwright starts it with a new empty profile of its own.

const lookup = findChromium();
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (!lookup.found) return;
  server = await startTestServer();
  browser = await chromium.launch({
    executablePath: lookup.executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});

// Without a browser the test reports itself skipped, naming how to provide one; with REQUIRE_BROWSER_TEST (CI) it fails.
beforeEach((ctx) => {
  if (lookup.found) return;
  if (browserTestEnv().required) throw new Error(`REQUIRE_BROWSER_TEST is set and ${lookup.reason}`);
  console.warn(`skipped: ${lookup.reason}`); // reporters do not print a skip's note
  ctx.skip(lookup.reason);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe("/docs in a browser", () => {
  it("renders the API reference with the operations of openapi.json", async () => {
    const page = await browser.newPage();
    const failed: string[] = [];
    page.on("requestfailed", (r) => failed.push(r.url()));
    page.on("pageerror", (e) => failed.push(e.message));
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector(".opblock-summary-path", { timeout: 30_000 });
    const paths = await page.$$eval(".opblock-summary-path", (els) => els.map((e) => e.textContent?.replace(/\u200b/g, "").trim()));
    expect(paths).toContain("/health");
    expect(paths).toContain("/collections/{name}");
    expect(await page.textContent(".title")).toMatch(/Collections service/);
    expect(failed).toEqual([]);
  });
});

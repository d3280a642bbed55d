import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.js";

// /docs as a person sees it: Debian's Chromium (installed by .ci/run) renders the operations.
// Playwright starts it with a new empty profile of its own.

const executablePath = "/usr/bin/chromium";
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: apt-get install chromium (.ci/run does)`);
  server = await startTestServer();
  browser = await chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
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

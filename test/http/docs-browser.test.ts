import { beforeEach, describe, expect } from "vitest";
import { chromium } from "playwright-core";
import { findChromium } from "../support/browser.js";
import { browserTestEnv } from "../support/env.js";
import { test } from "../support/fixtures.js";

// /docs as a person sees it: Chromium (found by test/support/browser.ts; .ci/run installs Debian's and
// makes this test mandatory) renders the operations. Playwright starts it with a new empty profile of its own.

const lookup = findChromium();

const it = test.extend("browser", { scope: "file" }, async ({}, { onCleanup }) => {
  if (!lookup.found) throw new Error(lookup.reason); // not reached: beforeEach skips the test first
  const browser = await chromium.launch({
    executablePath: lookup.executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  onCleanup(() => browser.close());
  return browser;
});

// Without a browser the test reports itself skipped, naming how to provide one; with REQUIRE_BROWSER_TEST (CI) it fails.
beforeEach(({ skip }) => {
  if (lookup.found) return;
  if (browserTestEnv().required) throw new Error(`REQUIRE_BROWSER_TEST is set and ${lookup.reason}`);
  console.warn(`skipped: ${lookup.reason}`); // reporters do not print a skip's note
  skip(lookup.reason);
});

describe("/docs in a browser", () => {
  it("renders the API reference with the operations of openapi.json", async ({ server, browser }) => {
    const page = await browser.newPage();
    const failed: string[] = [];
    page.on("requestfailed", (r) => failed.push(r.url()));
    page.on("pageerror", (e) => failed.push(e.message));
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector(".opblock-summary-path", { timeout: 30_000 });
    const paths = await page.$$eval(".opblock-summary-path", (els) =>
      els.map((e) => e.textContent?.replace(/\u200b/g, "").trim()),
    );
    expect(paths).toContain("/health");
    expect(paths).toContain("/collections/{name}");
    expect(await page.textContent(".title")).toMatch(/Collections service/);
    expect(failed).toEqual([]);
  });
});

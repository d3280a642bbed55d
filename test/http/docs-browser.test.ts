import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.js";

// /docs as a person sees it: Debian's Chromium (installed by .ci/run) renders the operations.

const executablePath = "/usr/bin/chromium";
let server: TestServer;
let browser: Browser;
const profile = mkdtempSync(join(tmpdir(), "chromium-profile-"));

beforeAll(async () => {
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: apt-get install chromium (.ci/run does)`);
  server = await startTestServer();
  browser = await chromium.launch({
    executablePath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(profile, { recursive: true, force: true });
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

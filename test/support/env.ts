import { parseEnv, type Env } from "../../server/env.js";

/** The test configuration: the environment (DATABASE_URL selects the server run), plus overrides. */
export function testEnv(overrides: Record<string, string | undefined> = {}): Env {
  return parseEnv({
    ...process.env,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    NODE_ENV: "test",
    ...overrides,
  });
}

export const usingPostgresServer = () => Boolean(testEnv().DATABASE_URL);

/**
 * How the browser test finds Chromium (test/support/browser.ts): CHROMIUM_PATH names the executable;
 * REQUIRE_BROWSER_TEST=1 (set by .ci/run) makes the test fail rather than skip when none is found.
 */
export function browserTestEnv(): { chromiumPath: string | undefined; required: boolean; path: string } {
  return {
    chromiumPath: process.env.CHROMIUM_PATH || undefined,
    path: process.env.PATH ?? "",
    required: ["1", "true"].includes(process.env.REQUIRE_BROWSER_TEST ?? ""),
  };
}

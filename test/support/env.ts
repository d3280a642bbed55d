import { parseEnv, type Env } from "../../server/env.js";

/** The test configuration: the environment (DATABASE_URL selects the server run), plus overrides. */
export function testEnv(overrides: Record<string, string | undefined> = {}): Env {
  return parseEnv({ ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent", NODE_ENV: "test", ...overrides });
}

export const usingPostgresServer = () => Boolean(testEnv().DATABASE_URL);

import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { createAuth } from "../../server/auth/index.js";
import type { Services } from "../../server/context.js";
import { openDatabase } from "../../server/db.js";
import type { Env } from "../../server/env.js";
import { createLogger } from "../../server/log.js";
import { createMetrics } from "../../server/observability/metrics.js";
import { testEnv } from "./env.js";

export interface TestServices extends Services {
  /** Log lines written so far (JSON objects). */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** A fresh embedded data directory (copied from the migrated template of test/global-setup.ts). */
export function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "collections-test-"));
  const template = inject("templateDataDir");
  if (template)
    cpSync(template, dir, {
      recursive: true,
      filter: (src) => !src.endsWith("collections.lock") && !src.endsWith(".s.PGSQL.5432"),
    });
  return dir;
}

/**
 * Services on the test storage: the PostgreSQL server when DATABASE_URL is set, otherwise an embedded
 * database of this test file's own.
 */
export async function createTestServices(
  overrides: Record<string, string | undefined> = {},
): Promise<TestServices> {
  const base = testEnv(overrides);
  // On the PostgreSQL server nothing is written there (the signing key is stored in the database).
  const ownDir = overrides.DATA_DIR
    ? undefined
    : base.DATABASE_URL
      ? mkdtempSync(join(tmpdir(), "collections-test-"))
      : freshDataDir();
  const env: Env = ownDir ? { ...base, DATA_DIR: ownDir } : base;
  const db = await openDatabase(env, { migrate: true });
  const logs: Record<string, unknown>[] = [];
  const log = createLogger(env.LOG_LEVEL === "silent" ? "debug" : env.LOG_LEVEL, (line) => {
    logs.push(JSON.parse(line));
    if (process.env.TEST_LOG_LEVEL) process.stdout.write(line);
  });
  const auth = await createAuth(env, db);
  return {
    env,
    db,
    log,
    auth,
    metrics: createMetrics(),
    logs,
    async close() {
      await db.close();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

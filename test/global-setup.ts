import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../server/db.js";
import { migrationsDir } from "../server/migrate.js";
import { testEnv } from "./support/env.js";

// Runs once before the suite. On the PostgreSQL server: apply the migrations once (test files then run
// in parallel on the migrated database). Embedded: build a migrated data directory once, which every
// test file copies (creating a PGlite cluster takes seconds).

function migrationsHash(): string {
  const h = createHash("sha256");
  for (const d of readdirSync(migrationsDir).sort()) {
    const f = join(migrationsDir, d, "migration.sql");
    if (existsSync(f)) h.update(d).update(readFileSync(f));
  }
  return h.digest("hex").slice(0, 16);
}

declare module "vitest" {
  export interface ProvidedContext {
    templateDataDir: string;
  }
}

export default async function setup({
  provide,
}: {
  provide: (key: "templateDataDir", value: string) => void;
}) {
  // Tests that start the service or the CLI as processes run the compiled dist/, as `npm start` does:
  // build it from the current sources first (esbuild, well under a second).
  execFileSync(process.execPath, ["scripts/build.mjs"], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    stdio: "inherit",
  });
  const env = testEnv();
  if (env.DATABASE_URL) {
    const db = await openDatabase(env, { migrate: true });
    await db.close();
    provide("templateDataDir", "");
    return;
  }
  const template = join(tmpdir(), `collections-test-template-${migrationsHash()}`);
  provide("templateDataDir", template);
  if (existsSync(join(template, "ready"))) return;
  const building = `${template}.${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const db = await openDatabase({ ...env, DATA_DIR: building }, { migrate: true });
  await db.close();
  mkdirSync(join(building, "ready"));
  rmSync(template, { recursive: true, force: true });
  renameSync(building, template);
}

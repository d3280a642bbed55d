import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import pg from "pg";
import { openDatabase, type Database } from "../../server/db.js";
import { testEnv } from "./env.js";
import { freshDataDir } from "./services.js";

export interface FreshDatabase {
  /** Storage settings that name it: DATABASE_URL of the new database, or DATA_DIR of the embedded one. */
  storage: { DATABASE_URL: string } | { DATABASE_URL: undefined; DATA_DIR: string };
  /** Opens it (again): a new pool on the PostgreSQL server each time; the embedded one only once. */
  open(): Promise<Database>;
  /** Closes what open() opened and removes the database. */
  drop(): Promise<void>;
}

/**
 * A database of its own with nothing in it, for tests of what happens on a first start: a new database
 * on the PostgreSQL server (migrated unless `migrated: false`), else a fresh embedded data directory.
 */
export async function freshDatabase({ migrated = true } = {}): Promise<FreshDatabase> {
  const env = testEnv();
  const opened: Database[] = [];
  if (!env.DATABASE_URL) {
    const dir = freshDataDir();
    return {
      storage: { DATABASE_URL: undefined, DATA_DIR: dir },
      async open() {
        const db = await openDatabase({ ...env, DATA_DIR: dir }, { migrate: true });
        opened.push(db);
        return db;
      },
      async drop() {
        for (const db of opened) await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `fresh_${randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const admin = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(env.DATABASE_URL);
  url.pathname = `/${name}`;
  const storage = { DATABASE_URL: url.toString() };
  if (migrated) await (await openDatabase({ ...env, ...storage }, { migrate: true })).close();
  return {
    storage,
    async open() {
      const db = await openDatabase({ ...env, ...storage }, { migrate: false });
      opened.push(db);
      return db;
    },
    async drop() {
      for (const db of opened) await db.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

import { randomUUID } from "node:crypto";
import pg from "pg";
import { itemKeySql, itemValueSql } from "./data.js";
import { adminScript, runToEnd } from "./processes.js";

/** Where the benchmark runs: a PostgreSQL server (DATABASE_URL) or the service's embedded database. */
export interface Storage {
  kind: "postgresql" | "embedded";
  databaseUrl?: string;
  /** DATA_DIR of the service (a temporary directory); the embedded database's socket lives there. */
  dataDir: string;
}

/** A pg pool on the same database the service uses (embedded: through the service's Unix socket). */
export function openPool(storage: Storage, max: number): pg.Pool {
  const pool =
    storage.kind === "postgresql"
      ? new pg.Pool({ connectionString: storage.databaseUrl, max })
      : new pg.Pool({ host: storage.dataDir, user: "postgres", database: "postgres", max });
  pool.on("error", () => {});
  return pool;
}

/** The pg connection settings a child process (the hand-written baseline server) should use. */
export function poolEnv(storage: Storage): Record<string, string> {
  return storage.kind === "postgresql"
    ? { BENCH_PG_URL: storage.databaseUrl! }
    : { BENCH_PG_HOST: storage.dataDir };
}

export interface Tenant {
  projectId: string;
  email: string;
  token: string;
  /** Creates an empty collection; returns its id. */
  collection(name: string): Promise<string>;
}

const PREFIX = "bench-";

/** Removes what earlier (interrupted) benchmark runs left behind: only projects and users named bench-…. */
export async function removeBenchData(pool: pg.Pool): Promise<void> {
  await pool.query(`DELETE FROM projects WHERE name LIKE '${PREFIX}%'`);
  await pool.query(`DELETE FROM users WHERE email LIKE '${PREFIX}%@bench.invalid'`);
}

/** A user who owns a project, and a write token for them minted by the admin CLI (the service's own key). */
export async function createTenant(
  pool: pg.Pool,
  serviceEnv: Record<string, string | undefined>,
): Promise<Tenant> {
  const run = randomUUID().slice(0, 8);
  const email = `${PREFIX}${run}@bench.invalid`;
  const user = await pool.query<{ id: string }>(
    `INSERT INTO users (id, email) VALUES (gen_random_uuid(), $1) RETURNING id::text`,
    [email],
  );
  const project = await pool.query<{ id: string }>(
    `INSERT INTO projects (id, name) VALUES (gen_random_uuid(), $1) RETURNING id::text`,
    [`${PREFIX}${run}`],
  );
  const projectId = project.rows[0]!.id;
  await pool.query(
    `INSERT INTO memberships (user_id, project_id, role) VALUES ($1::uuid, $2::uuid, 'owner')`,
    [user.rows[0]!.id, projectId],
  );
  const out = await runToEnd([adminScript, "token:create", "--email", email, "--label", "bench"], serviceEnv);
  const { token } = JSON.parse(out) as { token: string };
  return {
    projectId,
    email,
    token,
    async collection(name) {
      const r = await pool.query<{ id: string }>(
        `INSERT INTO collections (id, project_id, name) VALUES (gen_random_uuid(), $1::uuid, $2) RETURNING id::text`,
        [projectId, name],
      );
      return r.rows[0]!.id;
    },
  };
}

/** More write tokens of the same user, minted through POST /tokens. */
export async function mintTokens(baseUrl: string, token: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${baseUrl}/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ label: `bench ${i}` }),
    });
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`POST /tokens answered ${res.status}: ${await res.text()}`);
    tokens.push(((await res.json()) as { token: string }).token);
  }
  return tokens;
}

/** What runs the fill's SQL: a pg pool, or an in-process PGlite (bench/lib/pglite-baseline.ts). */
export interface SqlRunner {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Fills a collection with items 1..count in SQL (generate_series), in statements of up to 100,000 rows
 * (and about 100 MB of values); values of about 250 bytes, or about `valueBytes` (bench/lib/data.ts).
 */
export async function fillCollection(
  db: SqlRunner,
  collectionId: string,
  count: number,
  valueBytes?: number,
): Promise<void> {
  const step = Math.max(1, Math.min(100_000, Math.floor(100e6 / (valueBytes ?? 250))));
  for (let from = 1; from <= count; from += step) {
    const to = Math.min(count, from + step - 1);
    await db.query(
      `INSERT INTO items (collection_id, key, value, created, updated)
       SELECT $1::uuid, ${itemKeySql("g.i")}, ${itemValueSql("g.i", valueBytes)}, now(), now()
       FROM generate_series($2::int, $3::int) AS g(i) ORDER BY g.i`,
      [collectionId, from, to],
    );
  }
  await db.query("ANALYZE items");
}

import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
  chmodSync,
  existsSync,
} from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { PrismaClient } from "./generated/prisma/client.js";
import { applyMigrations, migrationsUpToDate } from "./migrate.js";
import { pgliteSql, poolSql, type Sql } from "./sql.js";

export { PrismaClient };
export type { Sql };

export type StorageKind = "embedded" | "embedded-via-server" | "postgres";

export interface Database {
  readonly prisma: PrismaClient;
  /** Typed raw SQL on the same driver, for the request hot paths (server/sql.ts). */
  readonly sql: Sql;
  readonly kind: StorageKind;
  /** What was opened, for people: `postgresql host:port/db` (never a password) or `embedded <DATA_DIR>…`. */
  readonly location: string;
  /** The migrations this open applied (empty when the schema was up to date or not migrated). */
  readonly migrationsApplied: string[];
  /** Resolves when the database answers a query. */
  ping(): Promise<void>;
  /** Connections in use / open, for leak checks (null where the driver has no pool). */
  poolStats(): { total: number; idle: number; waiting: number } | null;
  close(): Promise<void>;
}

export interface StorageConfig {
  DATABASE_URL?: string | undefined;
  DATA_DIR: string;
  DB_POOL_SIZE: number;
  /** PostgreSQL server only: how long a request waits for a new connection (0 = forever). */
  DB_CONNECT_TIMEOUT_MS?: number;
  /** PostgreSQL server only: the server cancels a statement running longer (0 = never). */
  DB_STATEMENT_TIMEOUT_MS?: number;
  /** PostgreSQL server only: keep the hot statements prepared per connection (server/sql.ts). */
  DB_PREPARED_STATEMENTS?: boolean;
}

/**
 * The serving pool of a PostgreSQL server: connection and statement timeouts so that requests fail fast
 * (503) when the server is unreachable or stuck, TCP keep-alive to notice dead connections, and a
 * server-side end to transactions left open.
 */
function servingPool(config: StorageConfig): pg.Pool {
  const statementTimeout = config.DB_STATEMENT_TIMEOUT_MS ?? 0;
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DB_POOL_SIZE,
    connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS ?? 0,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(statementTimeout > 0
      ? { statement_timeout: statementTimeout, idle_in_transaction_session_timeout: statementTimeout }
      : {}),
  });
  pool.on("error", () => {}); // an idle client that lost its server; the next checkout reconnects
  return pool;
}

export class DataDirLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The data directory ${dataDir} is in use by process ${pid}. The embedded database can be opened by ` +
        `one process only: stop that server, or give this one another DATA_DIR (or a DATABASE_URL).`,
    );
    this.name = "DataDirLockedError";
  }
}

/** The storage a configuration selects, for people: `postgresql host:port/db` (no user, no password) or `embedded <dir>`. */
export function describeStorage(config: Pick<StorageConfig, "DATABASE_URL" | "DATA_DIR">): string {
  if (!config.DATABASE_URL) return `embedded ${config.DATA_DIR}`;
  try {
    const url = new URL(config.DATABASE_URL);
    const host = url.hostname || url.searchParams.get("host") || "localhost";
    return `postgresql ${host}:${url.port || "5432"}${url.pathname || "/"}`;
  } catch {
    return "postgresql (an unparsable DATABASE_URL)";
  }
}

/** Thrown by openDatabase({ create: false }) where no database of this service exists yet. */
export class NoDatabaseError extends Error {
  constructor(
    readonly storage: string,
    detail: string,
  ) {
    super(`There is no collections database in ${storage}: ${detail}`);
    this.name = "NoDatabaseError";
  }
}

const lockFile = (dataDir: string) => join(dataDir, "collections.lock");
export const socketDir = (dataDir: string) => dataDir;
const socketPath = (dataDir: string) => join(dataDir, ".s.PGSQL.5432");
const pgdataDir = (dataDir: string) => join(dataDir, "pgdata");
/** Whether DATA_DIR holds an embedded database (PostgreSQL writes PG_VERSION when it creates a cluster). */
export const embeddedDatabaseExists = (dataDir: string) => existsSync(join(pgdataDir(dataDir), "PG_VERSION"));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid of the live process holding the data directory, if any. */
export function dataDirHolder(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(lockFile(dataDir), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Takes the data directory for this process, or throws DataDirLockedError. Returns the release. */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockFile(dataDir), "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile(dataDir), { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = dataDirHolder(dataDir);
      if (holder) throw new DataDirLockedError(dataDir, holder);
      rmSync(lockFile(dataDir), { force: true }); // left by a process that died
    }
  }
  throw new Error(`Could not lock the data directory ${dataDir}`);
}

function poolDatabase(
  kind: StorageKind,
  location: string,
  pool: pg.Pool,
  migrationsApplied: string[],
  prepare = true,
): Database {
  const adapter = new PrismaPg(pool);
  const prisma = new PrismaClient({ adapter });
  return {
    prisma,
    sql: poolSql(pool, { prepare, copy: kind === "postgres" }),
    kind,
    location,
    migrationsApplied,
    async ping() {
      await pool.query("SELECT 1");
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      await prisma.$disconnect();
      await pool.end().catch(() => {});
    },
  };
}

export interface OpenOptions {
  /** Apply pending migrations before returning (the server and the CLI do). */
  migrate?: boolean;
  /**
   * Embedded only: serve the database on a Unix socket in DATA_DIR (mode 0600) so that the admin CLI
   * can reach it while this process holds the directory.
   */
  serveSocket?: boolean;
  /** Embedded only: when another live process holds DATA_DIR, connect through its socket. */
  viaServerIfHeld?: boolean;
  /**
   * false: open only a database this service already set up, otherwise throw NoDatabaseError and leave
   * nothing behind (no DATA_DIR, no cluster; on a PostgreSQL server, no tables). Default true.
   */
  create?: boolean;
}

export async function openDatabase(config: StorageConfig, options: OpenOptions = {}): Promise<Database> {
  if (config.DATABASE_URL) {
    // Migrations get a pool of their own, without the serving pool's statement timeout.
    const migrationPool = new pg.Pool({
      connectionString: config.DATABASE_URL,
      max: config.DB_POOL_SIZE,
      connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS ?? 0,
    });
    migrationPool.on("error", () => {});
    let applied: string[] = [];
    const location = describeStorage(config);
    try {
      if (options.create === false) {
        const { rows } = await migrationPool.query<{ found: boolean }>(
          "SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found",
        );
        if (!rows[0]?.found)
          throw new NoDatabaseError(
            location,
            "the database has no tables of this service yet (no migrations applied)",
          );
      }
      const upToDate = await migrationsUpToDate(async (sql) => (await migrationPool.query(sql)).rows);
      if (options.migrate && !upToDate)
        applied = await applyMigrations(new PrismaPg(migrationPool) as SqlMigrationAwareDriverAdapterFactory);
    } finally {
      await migrationPool.end().catch(() => {});
    }
    return poolDatabase(
      "postgres",
      location,
      servingPool(config),
      applied,
      config.DB_PREPARED_STATEMENTS ?? true,
    );
  }

  const holder = options.viaServerIfHeld ? dataDirHolder(config.DATA_DIR) : null;
  if (holder && existsSync(socketPath(config.DATA_DIR))) {
    // The server holds the directory; it applied the migrations when it started.
    const pool = new pg.Pool({
      host: socketDir(config.DATA_DIR),
      max: 1,
      user: "postgres",
      database: "postgres",
    });
    pool.on("error", () => {});
    const location = `${describeStorage(config)} (through the socket of the server holding it, process ${holder})`;
    // One PGlite session serves the server and every socket client, and keeps what they prepare: a named
    // statement prepared here would be prepared again, under the same name, by the next CLI run.
    return poolDatabase("embedded-via-server", location, pool, [], false);
  }
  if (options.create === false && !embeddedDatabaseExists(config.DATA_DIR)) {
    const other = dataDirHolder(config.DATA_DIR); // perhaps setting one up right now
    if (other) throw new DataDirLockedError(config.DATA_DIR, other);
    const why = existsSync(config.DATA_DIR) ? "the directory has no pgdata/" : "the directory does not exist";
    throw new NoDatabaseError(`DATA_DIR=${config.DATA_DIR}`, `${why} (and DATABASE_URL is not set)`);
  }

  const release = lockDataDir(config.DATA_DIR);
  let pglite: PGlite | undefined;
  let socketServer: PGLiteSocketServer | undefined;
  let applied: string[] = [];
  try {
    pglite = await PGlite.create({ dataDir: pgdataDir(config.DATA_DIR), extensions: { pg_trgm } });
    const lite = pglite;
    const upToDate = await migrationsUpToDate(
      async (sql) => (await lite.query<{ migration_name: string; checksum: string }>(sql)).rows,
    );
    if (options.migrate && !upToDate) applied = await applyMigrations(new PrismaPGlite(pglite));
    if (options.serveSocket) {
      rmSync(socketPath(config.DATA_DIR), { force: true });
      socketServer = new PGLiteSocketServer({
        db: pglite,
        path: socketPath(config.DATA_DIR),
        maxConnections: 8,
      });
      await socketServer.start();
      chmodSync(socketPath(config.DATA_DIR), 0o600);
    }
  } catch (e) {
    await socketServer?.stop().catch(() => {});
    await pglite?.close().catch(() => {});
    release();
    throw e;
  }
  const db = pglite;
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  return {
    prisma,
    sql: pgliteSql(db),
    kind: "embedded",
    location: describeStorage(config),
    migrationsApplied: applied,
    async ping() {
      await db.query("SELECT 1");
    },
    poolStats: () => null,
    async close() {
      await socketServer?.stop().catch(() => {});
      await prisma.$disconnect();
      await db.close();
      release();
    },
  };
}

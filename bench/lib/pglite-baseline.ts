import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { applyMigrations } from "../../server/migrate.js";
import { fillCollection } from "./setup.js";

// The embedded baseline (issue 13): PGlite queried directly in the benchmark's process, on a temporary
// data directory of its own, with the service's schema (its migrations) and the same rows made by the
// same SQL (fillCollection). bench/point-baseline-server.ts opens the same directory for the point reads
// (once this process has closed it: a PGlite directory has one user at a time).

export class PgliteBaseline {
  private db: PGlite | undefined;
  private projectId: string | undefined;
  private readonly ids = new Map<string, string>();

  private constructor(readonly dir: string) {}

  /** A new, empty data directory (removed by remove()); opened on first use. */
  static create(): PgliteBaseline {
    return new PgliteBaseline(mkdtempSync(join(tmpdir(), "collections-bench-pglite-")));
  }

  /** The PGlite database, opened (and migrated, the first time) if it is not open. */
  async open(): Promise<PGlite> {
    if (this.db) return this.db;
    const db = await PGlite.create({ dataDir: join(this.dir, "pgdata"), extensions: { pg_trgm } });
    if (!this.projectId) {
      await applyMigrations(new PrismaPGlite(db));
      this.projectId = randomUUID();
      await db.query(`INSERT INTO projects (id, name) VALUES ($1::uuid, 'bench-baseline')`, [this.projectId]);
    }
    this.db = db;
    return db;
  }

  /** The collections made so far, name → id (for the point baseline server). */
  collections(): Record<string, string> {
    return Object.fromEntries(this.ids);
  }

  /** A collection filled like the service's one of the same name (items 1..count, values of ~valueBytes). */
  async collection(name: string, count: number, valueBytes?: number): Promise<string> {
    const known = this.ids.get(name);
    if (known) return known;
    const db = await this.open();
    const id = randomUUID();
    await db.query(`INSERT INTO collections (id, project_id, name) VALUES ($1::uuid, $2::uuid, $3)`, [
      id,
      this.projectId,
      name,
    ]);
    await fillCollection(db, id, count, valueBytes);
    this.ids.set(name, id);
    return id;
  }

  /** Closes the database (the directory stays, for the point baseline server or a later open()). */
  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    await db?.close();
  }

  async remove(): Promise<void> {
    await this.close().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

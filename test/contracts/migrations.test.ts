import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaPg } from "@prisma/adapter-pg";
import { readFileSync } from "node:fs";
import { applyMigrations, migrationList, schemaDrift, schemaPath } from "../../server/migrate.js";
import { testEnv } from "../support/env.js";

describe("migrations", { timeout: 240_000 }, () => {
  it("produce exactly prisma/schema.prisma (no drift)", async () => {
    expect(await schemaDrift()).toBe("");
  });

  it("would be caught drifting: a schema change shows up in the diff", async () => {
    const changed = readFileSync(schemaPath, "utf8").replace(
      /model Project \{/,
      "model Project {\n  archived Boolean @default(false)",
    );
    expect(await schemaDrift(changed)).toMatch(/ALTER TABLE "projects" ADD COLUMN\s+"archived"/);
    expect(await schemaDrift(changed)).not.toMatch(/CREATE EXTENSION|DROP INDEX/);
  });

  it("exist, in Prisma's format, with a lock file", () => {
    const list = migrationList();
    expect(list.migrationDirectories.length).toBeGreaterThan(0);
    expect(list.lockfile.content).toContain('provider = "postgresql"');
    for (const dir of list.migrationDirectories) expect(dir.path).toMatch(/^\d{14}_[a-z0-9_]+$/);
  });

  it("apply on a fresh embedded database, record themselves, and change nothing the second time", async () => {
    const db = await PGlite.create({ extensions: { pg_trgm } });
    try {
      const first = await applyMigrations(new PrismaPGlite(db));
      expect(first).toEqual(migrationList().migrationDirectories.map((d) => d.path));
      const recorded = await db.query<{ migration_name: string }>(
        "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name",
      );
      expect(recorded.rows.map((r) => r.migration_name)).toEqual(first);
      const schemaBefore = await db.query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
      );
      expect(await applyMigrations(new PrismaPGlite(db))).toEqual([]);
      const schemaAfter = await db.query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
      );
      expect(schemaAfter.rows).toEqual(schemaBefore.rows);
      expect((await db.query("SELECT count(*)::int AS n FROM _prisma_migrations")).rows).toEqual([
        { n: first.length },
      ]);
      const indexes = await db.query<{ indexdef: string }>(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'items'",
      );
      const defs = indexes.rows.map((r) => r.indexdef).join("\n");
      expect(defs).toContain("(collection_id, key text_pattern_ops)");
      expect(defs).toContain("gin (key gin_trgm_ops)");
    } finally {
      await db.close();
    }
  });

  const serverUrl = testEnv().DATABASE_URL;
  describe.runIf(Boolean(serverUrl))("on the PostgreSQL server", () => {
    const name = `migr_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
    const url = new URL(serverUrl ?? "postgresql://localhost/x");
    url.pathname = `/${name}`;
    afterAll(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });

    it("apply on a fresh database and a second time change nothing", async () => {
      await admin.query(`CREATE DATABASE ${name}`);
      const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
      try {
        const first = await applyMigrations(new PrismaPg(pool));
        expect(first.length).toBe(migrationList().migrationDirectories.length);
        expect(await applyMigrations(new PrismaPg(pool))).toEqual([]);
        const { rows } = await pool.query(
          "SELECT indexdef FROM pg_indexes WHERE tablename = 'items' ORDER BY indexname",
        );
        expect(rows.map((r) => r.indexdef).join("\n")).toMatch(
          /text_pattern_ops[\s\S]*gin_trgm_ops|gin_trgm_ops[\s\S]*text_pattern_ops/,
        );
      } finally {
        await pool.end();
      }
    });
  });
});

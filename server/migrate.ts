import { createHash } from "node:crypto";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { packageRoot } from "./paths.js";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PrismaPGlite } from "pglite-prisma-adapter";
import * as engineModule from "@prisma/schema-engine-wasm/schema_engine_bg";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";

// Prisma's own schema engine, compiled to WebAssembly, driven through the process's driver adapter:
// the same migrations and the same `_prisma_migrations` bookkeeping as `prisma migrate deploy`,
// without the native engine that cannot be downloaded here.

export const prismaDir = join(packageRoot, "prisma");
export const schemaPath = join(prismaDir, "schema.prisma");
export const migrationsDir = join(prismaDir, "migrations");

const noFilters = { externalTables: [], externalEnums: [] };

interface SchemaEngine {
  applyMigrations(input: unknown): Promise<{ appliedMigrationNames: string[] }>;
  diff(input: unknown): Promise<{ exitCode: number; stdout?: string | null }>;
  free(): void;
}

// Node has WebAssembly; the ES lib typings this project compiles against do not describe it.
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => unknown;
      Instance: new (
        module: unknown,
        imports: Record<string, unknown>,
      ) => { exports: Record<string, unknown> };
    };
  }
).WebAssembly;

let wasmReady = false;
function loadWasm(): void {
  if (wasmReady) return;
  // The package's entry imports the .wasm file as an ES module, which Node 20 does not allow without
  // a flag; its bindings module takes the instance through __wbg_set_wasm instead.
  const bindings = engineModule as unknown as Record<string, unknown> & {
    __wbg_set_wasm(exports: Record<string, unknown>): void;
  };
  const wasmFile = join(
    dirname(createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm/schema_engine_bg")),
    "schema_engine_bg.wasm",
  );
  const instance = new wasm.Instance(new wasm.Module(readFileSync(wasmFile)), {
    "./schema_engine_bg.js": bindings,
  });
  bindings.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as (() => void) | undefined)?.();
  wasmReady = true;
}

function readSchema(): string {
  return readFileSync(schemaPath, "utf8");
}

async function openEngine(adapter: SqlMigrationAwareDriverAdapterFactory): Promise<SchemaEngine> {
  loadWasm();
  const { SchemaEngine } = engineModule as unknown as {
    SchemaEngine: { new: (...args: unknown[]) => Promise<SchemaEngine> };
  };
  return SchemaEngine.new(
    { datamodels: [[schemaPath, readSchema()]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(adapter),
  );
}

export function migrationList() {
  const dirs = existsSync(migrationsDir)
    ? readdirSync(migrationsDir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    : [];
  const lockPath = join(migrationsDir, "migration_lock.toml");
  return {
    baseDir: migrationsDir,
    lockfile: {
      path: lockPath,
      content: existsSync(lockPath) ? readFileSync(lockPath, "utf8") : null,
    },
    shadowDbInitScript: "",
    migrationDirectories: dirs.map((name) => ({
      path: name,
      migrationFile: {
        path: "migration.sql",
        content: { tag: "ok", value: readFileSync(join(migrationsDir, name, "migration.sql"), "utf8") },
      },
    })),
  };
}

type Query = (sql: string) => Promise<{ migration_name: string; checksum: string }[]>;

/**
 * Whether every migration is recorded as applied with its current checksum (as Prisma computes it:
 * the SHA-256 of migration.sql). Loading the schema engine takes seconds, so the server and the CLI
 * ask this first and only start the engine when something is pending or changed.
 */
export async function migrationsUpToDate(query: Query): Promise<boolean> {
  let rows: { migration_name: string; checksum: string }[];
  try {
    rows = await query(
      "SELECT migration_name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
    );
  } catch {
    return false; // no bookkeeping table yet
  }
  const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
  return migrationList().migrationDirectories.every(
    (d) => applied.get(d.path) === createHash("sha256").update(d.migrationFile.content.value).digest("hex"),
  );
}

/** Applies every pending migration; returns the names it applied (none when up to date). */
export async function applyMigrations(adapter: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  const engine = await openEngine(adapter);
  try {
    const out = await engine.applyMigrations({ migrationsList: migrationList(), filters: noFilters });
    return out.appliedMigrationNames;
  } finally {
    engine.free();
  }
}

type DiffSide = "empty" | "migrations" | "schema";

function target(side: DiffSide, schema: string): unknown {
  switch (side) {
    case "empty":
      return { tag: "empty" };
    case "migrations":
      return { tag: "migrations", ...migrationList() };
    case "schema":
      return { tag: "schemaDatamodel", files: [{ path: schemaPath, content: schema }] };
  }
}

/**
 * The SQL that takes `from` to `to` ("" when they are the same), where "schema" is schema.prisma (or
 * the text given). "migrations" are replayed on a throw-away embedded shadow database.
 */
export async function diffScript(from: DiffSide, to: DiffSide, schema = readSchema()): Promise<string> {
  const scratch = await PGlite.create({ extensions: { pg_trgm } });
  // pglite-prisma-adapter's own shadow database has no extensions; ours has the ones the schema uses.
  const shadows: PGlite[] = [];
  const adapter = new PrismaPGlite(scratch);
  adapter.connectToShadowDb = async () => {
    const shadow = await PGlite.create({ extensions: { pg_trgm } });
    shadows.push(shadow);
    return new PrismaPGlite(shadow).connect();
  };
  const engine = await openEngine(adapter);
  try {
    const out = await engine.diff({
      from: target(from, schema),
      to: target(to, schema),
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return (out.stdout ?? "").replace(/^-- This is an empty migration\.\s*$/m, "").trim();
  } finally {
    engine.free();
    for (const db of [scratch, ...shadows]) await db.close().catch(() => {});
  }
}

/**
 * The drift between the migrations and schema.prisma, less two statements the engine always reports
 * here although the replayed database has them: the extension (its introspection over a driver
 * adapter does not see extensions) and the btree index with an operator class (nor btree operator
 * classes). Each is dropped only when the migrations contain exactly that statement.
 */
export async function schemaDrift(schema = readSchema()): Promise<string> {
  const migrationsSql = migrationList()
    .migrationDirectories.map((d) => d.migrationFile.content.value)
    .join("\n");
  const statements = (await diffScript("migrations", "schema", schema))
    .split(/;\s*(?:\n|$)/)
    .map((block) => block.replace(/^\s*--[^\n]*\n/gm, "").trim())
    .filter(Boolean);
  const inMigrations = (stmt: string) => migrationsSql.includes(stmt + ";");
  const recreated = new Set(
    statements
      .filter((st) => /^CREATE (UNIQUE )?INDEX "[^"]+"/.test(st) && inMigrations(st))
      .map((st) => /INDEX "([^"]+)"/.exec(st)![1]),
  );
  return statements
    .filter((st) => !(/^CREATE EXTENSION IF NOT EXISTS "[^"]+"$/.test(st) && inMigrations(st)))
    .filter((st) => !recreated.has(/^(?:DROP |CREATE (?:UNIQUE )?)INDEX "([^"]+)"/.exec(st)?.[1] ?? ""))
    .map((st) => st + ";")
    .join("\n");
}

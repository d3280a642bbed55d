import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as engineModule from "@prisma/schema-engine-wasm/schema_engine_bg";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";

// Prisma's own schema engine, compiled to WebAssembly, driven through the process's driver adapter:
// the same migrations and the same `_prisma_migrations` bookkeeping as `prisma migrate deploy`,
// without the native engine that cannot be downloaded here.

export const prismaDir = resolve(fileURLToPath(new URL("../prisma", import.meta.url)));
export const schemaPath = join(prismaDir, "schema.prisma");
export const migrationsDir = join(prismaDir, "migrations");

const noFilters = { externalTables: [], externalEnums: [] };

interface SchemaEngine {
  applyMigrations(input: unknown): Promise<{ appliedMigrationNames: string[] }>;
  diff(input: unknown): Promise<{ exitCode: number; stdout?: string | null }>;
  free(): void;
}

// Node has WebAssembly; the ES lib typings this project compiles against do not describe it.
const wasm = (globalThis as unknown as { WebAssembly: {
  Module: new (bytes: Uint8Array) => unknown;
  Instance: new (module: unknown, imports: Record<string, unknown>) => { exports: Record<string, unknown> };
} }).WebAssembly;

let wasmReady = false;
function loadWasm(): void {
  if (wasmReady) return;
  // The package's entry imports the .wasm file as an ES module, which Node 20 does not allow without
  // a flag; its bindings module takes the instance through __wbg_set_wasm instead.
  const bindings = engineModule as unknown as Record<string, unknown> & {
    __wbg_set_wasm(exports: Record<string, unknown>): void;
  };
  const wasmFile = fileURLToPath(
    new URL("schema_engine_bg.wasm", import.meta.resolve("@prisma/schema-engine-wasm/schema_engine_bg")),
  );
  const instance = new wasm.Instance(new wasm.Module(readFileSync(wasmFile)), { "./schema_engine_bg.js": bindings });
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

type DiffSide = "empty" | "migrations" | "schema" | "database";

function target(side: DiffSide): unknown {
  switch (side) {
    case "empty":
      return { tag: "empty" };
    case "migrations":
      return { tag: "migrations", ...migrationList() };
    case "schema":
      return { tag: "schemaDatamodel", files: [{ path: schemaPath, content: readSchema() }] };
    case "database":
      return { tag: "schemaDatasource", files: [{ path: schemaPath, content: readSchema() }], configDir: prismaDir };
  }
}

/**
 * The SQL that takes `from` to `to` ("" when they are the same). "migrations" needs a shadow
 * database: the engine replays them on the adapter's database, so give it a scratch one.
 */
export async function diffScript(
  adapter: SqlMigrationAwareDriverAdapterFactory,
  from: DiffSide,
  to: DiffSide,
): Promise<string> {
  const engine = await openEngine(adapter);
  try {
    const out = await engine.diff({ from: target(from), to: target(to), script: true, exitCode: null, filters: noFilters });
    return (out.stdout ?? "").replace(/^-- This is an empty migration\.\s*$/m, "").trim();
  } finally {
    engine.free();
  }
}

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./lib/processes.js";
import { percentile, round } from "./lib/stats.js";

// `npm run bench:cli [-- --runs=N]`: how long an admin CLI call takes (the compiled dist/admin.js, as
// the `collections-admin` bin and `npm run -s admin` run it), against node's own start-up (`node -e 0`).
// Cases: --help and a usage error (neither loads a database driver), user:list on PostgreSQL (when
// DATABASE_URL is set), user:list on the embedded database opened by the CLI itself, and user:list
// through the socket of a server holding the embedded DATA_DIR. Wall-clock from spawn to exit.
// Run `npm run build` first.

const runsArg = process.argv.slice(2).find((a) => a.startsWith("--runs="));
const runs = runsArg ? Number(runsArg.slice("--runs=".length)) : 15;
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive whole number");
const admin = join(repoRoot, "dist", "admin.js");
if (!existsSync(admin)) throw new Error("dist/admin.js is missing: run `npm run build` first");

const databaseUrl = process.env.DATABASE_URL || undefined;
const dataDir = mkdtempSync(join(tmpdir(), "collections-bench-cli-"));
const embedded = { DATABASE_URL: "", DATA_DIR: dataDir, LOG_LEVEL: "warn" };

function timeOnce(args: string[], env: Record<string, string>, expectCode: number): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== expectCode)
    throw new Error(`${args.join(" ")} exited ${r.status} (expected ${expectCode}): ${r.stderr}`);
  return elapsed;
}

interface Figure {
  case: string;
  median_ms: number;
  p90_ms: number;
  over_node_ms: number;
}

const figures: Figure[] = [];
let baseline = 0;
function measure(name: string, args: string[], env: Record<string, string> = {}, expectCode = 0): void {
  timeOnce(args, env, expectCode); // warm the file cache
  const samples = Array.from({ length: runs }, () => timeOnce(args, env, expectCode));
  const median = percentile(samples, 50);
  if (name === "node -e 0") baseline = median;
  figures.push({
    case: name,
    median_ms: round(median, 1),
    p90_ms: round(percentile(samples, 90), 1),
    over_node_ms: round(median - baseline, 1),
  });
  process.stderr.write(`  ${name}: done\n`);
}

function startServer(): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, [join(repoRoot, "dist", "main.js")], {
    cwd: repoRoot,
    env: { ...process.env, ...embedded, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes('"msg":"listening"')) {
        out = "";
        resolve(async () => {
          child.kill("SIGTERM");
          await exited;
        });
      }
    });
    void exited.then(() => reject(new Error("the server exited before listening")));
  });
}

try {
  process.stderr.write(`setting up an embedded database in ${dataDir} (user:create)…\n`);
  timeOnce([admin, "user:create", "--email", "bench@example.org"], embedded, 0);

  measure("node -e 0", ["-e", "0"]);
  measure("--help", [admin, "--help"]);
  measure("usage error (exit 2)", [admin, "user:lst"], {}, 2);
  if (databaseUrl)
    measure("user:list, PostgreSQL", [admin, "user:list"], { DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" });
  else process.stderr.write("  DATABASE_URL is not set: the PostgreSQL case is skipped\n");
  measure("user:list, embedded (opened by the CLI)", [admin, "user:list"], embedded);
  const stop = await startServer();
  try {
    measure("user:list, embedded (through the server's socket)", [admin, "user:list"], embedded);
  } finally {
    await stop();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

const width = Math.max(...figures.map((f) => f.case.length));
console.log(
  `admin CLI start-up, ${runs} runs each (node ${process.version}); target: < 300 ms over node -e 0`,
);
console.log(`${"case".padEnd(width)}  median ms  p90 ms  over node -e 0`);
for (const f of figures) {
  console.log(
    `${f.case.padEnd(width)}  ${String(f.median_ms).padStart(9)}  ${String(f.p90_ms).padStart(6)}  ${String(f.over_node_ms).padStart(14)}`,
  );
}

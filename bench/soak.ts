import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serviceNodeFlags } from "../scripts/service-node-flags.js";
import { adminScript, buildDist, serviceScript } from "./lib/processes.js";

// Soak test (SPEC §6): a mixed load of reads, writes and streams at a fixed rate against the service
// started as `npm start` runs it (node on dist/main.js, compiled first), on 127.0.0.1 only. Prints the
// error count (must be 0), p50/p99 latency per operation and the service's memory at start and end (must
// not grow more than 10%).
//
//   npm run soak -- [--duration=SECONDS] [--rate=REQUESTS_PER_SECOND]
//
// Storage as for the server: DATABASE_URL selects a PostgreSQL server, otherwise an embedded database
// in a temporary DATA_DIR (removed afterwards).

const root = fileURLToPath(new URL("..", import.meta.url));

function option(name: string, fallback: number): number {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  if (!arg) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

const durationSeconds = option("duration", 300);
const rate = option("rate", 40);
const dataDir = mkdtempSync(join(tmpdir(), "collections-soak-"));
const env = {
  ...process.env,
  PORT: "0",
  HOST: "127.0.0.1",
  DATA_DIR: dataDir,
  LOG_LEVEL: "info",
  NODE_ENV: "production",
};

function runCli(args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [adminScript, ...args], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`admin ${args[0]} failed: ${err}`)),
    );
  });
}

function startService(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...serviceNodeFlags(), serviceScript], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let buffered = "";
    child.stdout!.on("data", (d) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const msg = JSON.parse(line);
          if (msg.msg === "listening") resolve({ child, url: msg.url });
        } catch {
          /* not JSON */
        }
      }
      if (buffered.length > 1_000_000) buffered = "";
    });
    child.on("exit", (code) => reject(new Error(`the service exited with ${code} before listening`)));
  });
}

/** Resident memory of a process, in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  await buildDist();
  const service = await startService();
  if (new URL(service.url).hostname !== "127.0.0.1")
    throw new Error(`refusing to load ${service.url}: 127.0.0.1 only`);
  const tag = randomUUID().slice(0, 8);
  const email = `soak-${tag}@soak.local`;
  const project = `soak-${tag}`;
  await runCli(["user:create", "--email", email]);
  await runCli(["project:create", "--name", project]);
  await runCli(["project:add-member", "--project", project, "--email", email, "--role", "owner"]);
  await runCli(["collection:create", "--project", project, "--name", "soak"]);
  const { token } = await runCli(["token:create", "--email", email, "--label", "soak"]);
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const base = `${service.url}/collections/soak`;

  // 2,000 items to read and stream; writes go to their own keys so that the stream size stays stable.
  for (let b = 0; b < 2; b++) {
    const items = Array.from({ length: 1000 }, (_, i) => ({
      key: `seed-${b * 1000 + i}`,
      value: { n: b * 1000 + i, text: "x".repeat(200) },
    }));
    const r = await fetch(base, { method: "POST", headers, body: JSON.stringify(items) });
    if (!r.ok) throw new Error(`seeding failed: ${r.status} ${await r.text()}`);
  }

  let writes = 0;
  const operations: { name: string; weight: number; run(): Promise<Response> }[] = [
    {
      name: "read one",
      weight: 40,
      run: () => fetch(`${base}/seed-${Math.floor(Math.random() * 2000)}`, { headers }),
    },
    { name: "read page", weight: 15, run: () => fetch(`${base}/seed-1*?limit=100`, { headers }) },
    {
      name: "write 10",
      weight: 25,
      run: () => {
        const w = writes++ % 500; // a bounded key space: the table does not grow without end
        return fetch(base, {
          method: "POST",
          headers,
          body: JSON.stringify(
            Array.from({ length: 10 }, (_, i) => ({ key: `w-${w}-${i}`, value: { w, i, at: Date.now() } })),
          ),
        });
      },
    },
    {
      name: "delete 10",
      weight: 5,
      run: () => fetch(`${base}/w-${Math.floor(Math.random() * 500)}-*`, { method: "DELETE", headers }),
    },
    { name: "stream 2000", weight: 10, run: () => fetch(`${base}/seed-*`, { headers }) },
    {
      name: "lightning page",
      weight: 5,
      run: () => fetch(`${service.url}/lightning/collections/soak?key=seed-*&limit=500`, { headers }),
    },
  ];
  const totalWeight = operations.reduce((n, o) => n + o.weight, 0);
  const pick = () => {
    let r = Math.random() * totalWeight;
    for (const o of operations) if ((r -= o.weight) < 0) return o;
    return operations[0]!;
  };
  const latencies = new Map<string, number[]>(operations.map((o) => [o.name, []]));
  const errors = new Map<string, number>();
  const noteError = (what: string) => errors.set(what, (errors.get(what) ?? 0) + 1);

  const one = async () => {
    const op = pick();
    const started = performance.now();
    try {
      const res = await op.run();
      const text = await res.text();
      if (!res.ok) noteError(`${op.name}: HTTP ${res.status}`);
      else if (res.headers.get("content-type")?.startsWith("application/json")) JSON.parse(text); // a stream must end as valid JSON
      latencies.get(op.name)!.push(performance.now() - started);
    } catch (e) {
      noteError(`${op.name}: ${(e as Error).message}`);
    }
  };

  const warmupMs = Math.min(15_000, (durationSeconds * 1000) / 10);
  const inFlight = new Set<Promise<void>>();
  const started = Date.now();
  const interval = 1000 / rate;
  let sent = 0;
  let memoryStart: number | undefined;
  console.log(
    `soak: ${durationSeconds} s at ${rate} requests/s against ${service.url} (${process.env.DATABASE_URL ? "PostgreSQL" : "embedded"} storage)`,
  );
  while (Date.now() - started < durationSeconds * 1000) {
    // Fixed rate (open loop): requests are sent on schedule whether or not earlier ones have answered.
    const due = started + sent * interval;
    if (due > Date.now()) await sleep(due - Date.now());
    const p = one().finally(() => inFlight.delete(p));
    inFlight.add(p);
    sent++;
    if (memoryStart === undefined && Date.now() - started >= warmupMs)
      memoryStart = rssMiB(service.child.pid!);
  }
  await Promise.all(inFlight);
  await sleep(2000);
  const memoryEnd = rssMiB(service.child.pid!);
  memoryStart ??= memoryEnd;

  await runCli(["collection:delete", "--project", project, "--name", "soak"]).catch(() => {});
  service.child.kill("SIGTERM");
  await new Promise((r) => service.child.once("exit", r));
  rmSync(dataDir, { recursive: true, force: true });

  const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
  const growth = ((memoryEnd - memoryStart) / memoryStart) * 100;
  console.log(`requests: ${sent} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`errors: ${errorCount}`);
  for (const [what, n] of errors) console.log(`  ${what}: ${n}`);
  console.log("operation        count    p50 ms   p99 ms");
  for (const [name, values] of latencies) {
    const sorted = [...values].sort((a, b) => a - b);
    console.log(
      `${name.padEnd(15)} ${String(sorted.length).padStart(6)} ${percentile(sorted, 50).toFixed(1).padStart(9)} ${percentile(sorted, 99).toFixed(1).padStart(8)}`,
    );
  }
  console.log(
    `service memory (RSS): start ${memoryStart.toFixed(1)} MiB (after ${(warmupMs / 1000).toFixed(0)} s warm-up), end ${memoryEnd.toFixed(1)} MiB, growth ${growth.toFixed(1)}%`,
  );
  const ok = errorCount === 0 && growth <= 10;
  console.log(ok ? "soak: PASS" : "soak: FAIL (errors, or memory grew more than 10%)");
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(1);
});

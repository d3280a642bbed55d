import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { serviceNodeFlags } from "../../scripts/service-node-flags.js";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface NodeProcess {
  child: ChildProcess;
  pid: number;
  /** From the process's "listening" log line. */
  url: string;
  stderr(): string;
  /** The last warn/error log lines (request logs are not kept). */
  problems(): string[];
  stop(): Promise<void>;
}

/** The service and the admin CLI as `npm start` and the `collections-admin` bin run them: compiled. */
export const serviceScript = "dist/main.js";
export const adminScript = "dist/admin.js";

/** `npm run build`'s compile step (esbuild, under a second): the benchmarks measure the current sources. */
export function buildDist(): Promise<string> {
  return runToEnd(["scripts/build.mjs"], {});
}

/**
 * `node <script>` (`node --import tsx <script>` for a TypeScript one: the hand-written baseline server),
 * resolved once its stdout logs {"msg":"listening","url":…}. Later stdout lines (request logs) are read
 * and discarded.
 */
export function startNodeProcess(
  script: string,
  env: Record<string, string | undefined>,
  nodeArgs: string[] = [],
  timeoutMs = 120_000,
): Promise<NodeProcess> {
  const loader = script.endsWith(".ts") ? ["--import", "tsx"] : [];
  // The service with the node options `npm start` gives it (package.json), then any of the caller's.
  const flags = script === serviceScript ? [...serviceNodeFlags(), ...nodeArgs] : nodeArgs;
  const child = spawn(process.execPath, [...flags, ...loader, script], {
    cwd: repoRoot,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let buffered = "";
  let listening = false;
  const problems: string[] = [];
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} did not start in ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-20_000)));
    child.stdout!.on("data", (d: Buffer) => {
      if (listening) {
        const text = d.toString("utf8");
        if (text.includes('"level":"error"') || text.includes('"level":"warn"')) {
          for (const line of text.split("\n"))
            if (/"level":"(error|warn)"/.test(line)) problems.push(line.slice(0, 2000));
          problems.splice(0, Math.max(0, problems.length - 20));
        }
        return;
      }
      buffered += d;
      for (const line of buffered.split("\n")) {
        if (!line.includes('"listening"')) continue;
        const msg = JSON.parse(line) as { msg?: string; url?: string };
        if (msg.msg !== "listening" || !msg.url) continue;
        listening = true;
        buffered = "";
        clearTimeout(timer);
        resolve({
          child,
          pid: child.pid!,
          url: msg.url,
          stderr: () => stderr,
          problems: () => problems,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
            const timeout = setTimeout(() => child.kill("SIGKILL"), 15_000);
            await exited;
            clearTimeout(timeout);
          },
        });
        return;
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      if (!listening)
        reject(new Error(`${script} exited (code ${child.exitCode}) before listening: ${stderr}`));
    });
  });
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Peak resident memory of a process while `work` runs: the kernel's high-water mark (VmHWM) after
 * resetting it through /proc/<pid>/clear_refs, or, where that is not allowed, the highest VmRSS
 * sampled every 10 ms. With `timelineEveryMs`, also VmRSS over time: [ms since the start, MiB] about
 * every that many milliseconds (timers of this process: late while its event loop is busy).
 */
export async function peakRssDuring<T>(
  pid: number,
  work: () => Promise<T>,
  options: { timelineEveryMs?: number } = {},
): Promise<{ result: T; peakRssMb: number; method: string; timeline?: [number, number][] }> {
  let reset = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    reset = false;
  }
  let sampled = statusKb(pid, "VmRSS") ?? 0;
  const sampler = setInterval(() => (sampled = Math.max(sampled, statusKb(pid, "VmRSS") ?? 0)), 10);
  const started = process.hrtime.bigint();
  const timeline: [number, number][] | undefined = options.timelineEveryMs ? [] : undefined;
  const sample = () => {
    const kb = statusKb(pid, "VmRSS");
    if (kb !== null && timeline) {
      timeline.push([
        Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10,
        Math.round(kb / 102.4) / 10,
      ]);
      sampled = Math.max(sampled, kb);
    }
  };
  sample();
  const timelineSampler = options.timelineEveryMs ? setInterval(sample, options.timelineEveryMs) : undefined;
  try {
    const result = await work();
    sample();
    const hwm = reset ? statusKb(pid, "VmHWM") : null;
    const kb = hwm !== null ? Math.max(hwm, sampled) : sampled;
    return {
      result,
      peakRssMb: kb / 1024,
      method: hwm !== null ? "VmHWM after clear_refs" : "VmRSS sampled every 10 ms",
      ...(timeline ? { timeline } : {}),
    };
  } finally {
    clearInterval(sampler);
    if (timelineSampler) clearInterval(timelineSampler);
  }
}

/** CPU time (user + system) a process has used so far, in milliseconds (/proc/<pid>/stat; 0 where unreadable). */
export function cpuMs(pid: number): number {
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/** Write-like system calls a process has made so far (/proc/<pid>/io syscw; 0 where unreadable). */
export function writeCalls(pid: number): number {
  try {
    return Number(/^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** CPU time the whole machine has used so far (every core, user + system), in milliseconds (/proc/stat). */
export function machineCpuMs(): number {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]!
      .trim()
      .split(/\s+/)
      .map(Number);
    return ((user! + nice! + system! + irq! + softirq! + steal!) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** Runs a command to completion; rejects with its stderr on a non-zero exit. */
export function runToEnd(args: string[], env: Record<string, string | undefined>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.once("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${args.join(" ")} exited ${code}: ${err}`)),
    );
  });
}

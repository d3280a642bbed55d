import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { request, type IncomingHttpHeaders } from "node:http";
import pg from "pg";
import { runCli, startServerProcess, type ServerProcess } from "./process.js";
import { testEnv } from "./env.js";

// Resident memory of a server process (SPEC §6 "Memory is bounded by configuration…"), measured from
// outside: /proc/<pid>/status (VmRSS, and VmHWM, the kernel's own high-water mark, reset through
// /proc/<pid>/clear_refs where allowed), or `ps -o rss=` elsewhere. Plus clients that stay small while
// they send or read hundreds of megabytes: bodies are written in chunks, answers are counted, not kept.

export const MiB = 1024 * 1024;
const round = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

function statusField(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The resident set size of `pid`, in bytes. */
export function rssBytes(pid: number): number {
  const fromProc = statusField(pid, "VmRSS");
  if (fromProc !== undefined) return fromProc;
  const kb = Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim());
  if (!Number.isFinite(kb) || kb <= 0) throw new Error(`cannot read the RSS of process ${pid}`);
  return kb * 1024;
}

/** Resets the kernel's peak-RSS mark (VmHWM) of `pid`; false where that is not possible. */
function resetPeakMark(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    const hwm = statusField(pid, "VmHWM");
    const rss = statusField(pid, "VmRSS");
    return hwm !== undefined && rss !== undefined && hwm <= rss + 4 * MiB;
  } catch {
    return false;
  }
}

export interface MemoryReport {
  label: string;
  /** Idle RSS after warm-up (median of a few samples), MiB. */
  baselineMiB: number;
  /** Highest RSS seen during the load (samples every ~50 ms, and the kernel's VmHWM when it could be reset), MiB. */
  peakMiB: number;
  /** peak − baseline, MiB. */
  growthMiB: number;
  samples: number;
}

/** The idle RSS of `pid`: the median of `count` samples taken every `everyMs`. */
export async function idleRss(pid: number, count = 9, everyMs = 60): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    values.push(rssBytes(pid));
    await sleep(everyMs);
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}

/**
 * Runs `load` while sampling the RSS of `pid` every `intervalMs`; the baseline is the idle RSS just
 * before. Prints one line with the figures (they go into the closing notes of memory work).
 */
export async function measureRss<T>(
  label: string,
  pid: number,
  load: () => Promise<T>,
  intervalMs = 50,
): Promise<{ report: MemoryReport; result: T }> {
  const baseline = await idleRss(pid);
  const hwmReset = resetPeakMark(pid);
  let peak = rssBytes(pid);
  let samples = 1;
  const sample = () => {
    try {
      peak = Math.max(peak, rssBytes(pid));
      samples++;
    } catch {
      /* the process went away: the test sees it elsewhere */
    }
  };
  const timer = setInterval(sample, intervalMs);
  let result: T;
  try {
    result = await load();
  } finally {
    clearInterval(timer);
    sample();
    if (hwmReset) peak = Math.max(peak, statusField(pid, "VmHWM") ?? 0);
  }
  const report: MemoryReport = {
    label,
    baselineMiB: round(baseline),
    peakMiB: round(peak),
    growthMiB: round(peak - baseline),
    samples,
  };
  console.log(
    `[memory] ${label}: RSS ${report.baselineMiB} → ${report.peakMiB} MiB (+${report.growthMiB} MiB, ${samples} samples)`,
  );
  return { report, result };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A server process of its own (see startServerProcess) whose RSS the test measures. */
export async function startMeasuredServer(
  overrides: Record<string, string | undefined>,
): Promise<ServerProcess & { pid: number }> {
  const server = await startServerProcess(overrides);
  if (server.child.pid === undefined) throw new Error("the server process has no pid");
  return Object.assign(server, { pid: server.child.pid });
}

/** Stops a server process: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopServer(server: ServerProcess | undefined, graceMs = 15_000): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const timer = setTimeout(() => server.child.kill("SIGKILL"), graceMs);
  try {
    await server.stop();
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------
// Clients

export interface LargeBodyOutcome {
  /** The status of the answer, if one arrived. */
  status?: number;
  /** The answer's body (at most 64 KiB of it). */
  body: string;
  /** Body bytes written when the answer arrived (or the connection broke). */
  sentBeforeAnswer: number;
  /** The connection was closed by the server before an answer arrived (EPIPE, ECONNRESET…). */
  closed: boolean;
  error?: string;
}

/**
 * POSTs a JSON body of exactly `totalBytes` (`prefix`, then `x` padding inside a string, then
 * `suffix`), written 64 KiB at a time with backpressure, so the client holds one chunk. Stops writing
 * as soon as the server answers or closes the connection.
 */
export function postLargeBody(
  baseUrl: string,
  path: string,
  opts: {
    totalBytes: number;
    headers?: Record<string, string>;
    prefix?: string;
    suffix?: string;
    chunkBytes?: number;
    timeoutMs?: number;
  },
): Promise<LargeBodyOutcome> {
  const { hostname, port } = new URL(baseUrl);
  const prefix = Buffer.from(opts.prefix ?? '{"items":[{"key":"k","value":"');
  const suffix = Buffer.from(opts.suffix ?? '"}]}');
  const chunk = Buffer.alloc(opts.chunkBytes ?? 64 * 1024, "x");
  const total = opts.totalBytes;
  return new Promise((resolve) => {
    let sent = 0;
    let answered = false;
    let finished = false;
    let body = "";
    let status: number | undefined;
    let sentBeforeAnswer = -1;
    const finish = (outcome: Partial<LargeBodyOutcome>) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      req.destroy();
      resolve({
        status,
        body,
        sentBeforeAnswer: sentBeforeAnswer < 0 ? sent : sentBeforeAnswer,
        closed: false,
        ...outcome,
      });
    };
    const timer = setTimeout(() => finish({ error: "timed out" }), opts.timeoutMs ?? 120_000);
    const req = request(
      {
        host: hostname,
        port,
        method: "POST",
        path,
        agent: false,
        headers: { "content-type": "application/json", "content-length": String(total), ...opts.headers },
      },
      (res) => {
        answered = true;
        status = res.statusCode;
        sentBeforeAnswer = sent;
        res.on("data", (d: Buffer) => {
          if (body.length < 64 * 1024) body += d.toString("utf8");
        });
        res.on("end", () => finish({}));
        res.on("error", (e) => finish({ error: String(e) }));
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (answered) return finish({});
      finish({ closed: true, error: e.code ?? String(e) });
    });
    req.on("close", () => {
      if (!answered) finish({ closed: true, error: "closed" });
    });
    const write = (buf: Buffer): Promise<void> =>
      new Promise((ok) => {
        if (req.write(buf)) ok();
        else {
          const done = () => {
            req.off("drain", done);
            req.off("close", done);
            ok();
          };
          req.once("drain", done);
          req.once("close", done);
        }
      });
    void (async () => {
      await write(prefix);
      sent += prefix.length;
      const padding = total - prefix.length - suffix.length;
      let left = padding;
      while (left > 0 && !answered && !finished && !req.destroyed) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        await write(piece);
        sent += piece.length;
        left -= piece.length;
      }
      if (left === 0 && !answered && !finished && !req.destroyed) {
        await write(suffix);
        sent += suffix.length;
        req.end();
      }
    })();
  });
}

export interface CountedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Body bytes received. */
  bytes: number;
  /** The first and last bytes of the body (up to `keep` each), as text. */
  head: string;
  tail: string;
  /** The whole body, when it was at most `keepWhole` bytes; otherwise undefined. */
  whole?: string;
  /** The transfer ended cleanly (not aborted). */
  complete: boolean;
}

/**
 * GETs `path` and reads the whole answer without keeping it (only its first and last bytes, or all of
 * it when it is at most `keepWhole` bytes). `bytesPerSecond` reads slowly: the response is paused
 * whenever the reader is ahead of that rate.
 */
export function getCounted(
  baseUrl: string,
  path: string,
  opts: {
    headers?: Record<string, string>;
    bytesPerSecond?: number;
    keep?: number;
    keepWhole?: number;
    timeoutMs?: number;
  } = {},
): Promise<CountedResponse> {
  const { hostname, port } = new URL(baseUrl);
  const keep = opts.keep ?? 512;
  const keepWhole = opts.keepWhole ?? 0;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, method: "GET", path, agent: false, headers: opts.headers },
      (res) => {
        const started = Date.now();
        let bytes = 0;
        let head = "";
        let tailBuf = Buffer.alloc(0);
        let wholeParts: Buffer[] | undefined = keepWhole > 0 ? [] : undefined;
        res.on("data", (d: Buffer) => {
          bytes += d.length;
          if (head.length < keep) head += d.subarray(0, keep - head.length).toString("utf8");
          tailBuf = Buffer.concat([tailBuf, d.subarray(Math.max(0, d.length - keep))]);
          if (tailBuf.length > keep) tailBuf = tailBuf.subarray(tailBuf.length - keep);
          if (wholeParts) {
            if (bytes <= keepWhole) wholeParts.push(d);
            else wholeParts = undefined;
          }
          if (opts.bytesPerSecond) {
            const due = (bytes / opts.bytesPerSecond) * 1000 - (Date.now() - started);
            if (due > 5) {
              res.pause();
              setTimeout(() => res.resume(), due);
            }
          }
        });
        res.on("end", () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            bytes,
            head,
            tail: tailBuf.toString("utf8"),
            whole: wholeParts ? Buffer.concat(wholeParts).toString("utf8") : undefined,
            complete: res.complete,
          });
        });
        res.on("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`GET ${path} timed out`)),
      opts.timeoutMs ?? 170_000,
    );
    req.on("error", reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------------
// Data set-up through the admin CLI and HTTP

export interface MemoryTenant {
  email: string;
  projectName: string;
  projectId: string;
  /** A write-scoped token of the project's owner. */
  token: string;
  headers: Record<string, string>;
}

async function cli(args: string[], dataDir: string): Promise<Record<string, string>> {
  const r = await runCli(args, { DATA_DIR: dataDir });
  if (r.code !== 0) throw new Error(`admin ${args[0]} failed (${r.code}): ${r.stderr}`);
  return r.json as Record<string, string>;
}

/**
 * A project `mem-<tag>` with an owner `mem-owner-<tag>@test.local` and an owner token, made with the
 * admin CLI (through the running server's socket on the embedded store); then `collections` are created
 * through `POST /projects/{id}/collections` of the running server at `baseUrl`.
 */
export async function createMemoryTenant(
  dataDir: string,
  tag: string,
  baseUrl: string,
  collections: string[] = [],
): Promise<MemoryTenant> {
  const email = `mem-owner-${tag}@test.local`;
  const projectName = `mem-${tag}`;
  const [, project] = await Promise.all([
    cli(["user:create", "--email", email], dataDir),
    cli(["project:create", "--name", projectName], dataDir),
  ]);
  await cli(["project:add-member", "--project", projectName, "--email", email, "--role", "owner"], dataDir);
  const { token } = await cli(["token:create", "--email", email, "--label", "memory tests"], dataDir);
  const headers = { authorization: `Bearer ${token}` };
  for (const name of collections) {
    const res = await fetch(`${baseUrl}/projects/${project!.id}/collections`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`creating collection ${name} answered ${res.status}: ${await res.text()}`);
  }
  return { email, projectName, projectId: project!.id!, token: token!, headers };
}

/** On the PostgreSQL server, removes what createMemoryTenant made (items go with their project). */
export async function dropMemoryTenant(tag: string): Promise<void> {
  const url = testEnv().DATABASE_URL;
  if (!url) return;
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await pool.query("DELETE FROM projects WHERE name = $1", [`mem-${tag}`]);
    await pool.query("DELETE FROM users WHERE email = $1", [`mem-owner-${tag}@test.local`]);
  } finally {
    await pool.end();
  }
}

/** A JSON string value of exactly `chars` characters once serialized (quotes included), starting with `key`. */
export function bigStringValue(key: string, chars: number): string {
  return `${key}:`.padEnd(chars - 2, "x");
}

/**
 * Upserts `count` items `<prefix><nnnnn>` through POST /collections/{name}, `perRequest` at a time;
 * `value(i, key)` gives each value (any JSON).
 */
export async function insertItems(
  baseUrl: string,
  headers: Record<string, string>,
  name: string,
  count: number,
  perRequest: number,
  value: (i: number, key: string) => unknown,
  prefix = "k",
): Promise<void> {
  for (let start = 0; start < count; start += perRequest) {
    const items = [];
    for (let i = start; i < Math.min(count, start + perRequest); i++) {
      const key = `${prefix}${String(i).padStart(5, "0")}`;
      items.push({ key, value: value(i, key) });
    }
    const res = await fetch(`${baseUrl}/collections/${name}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ items }),
    });
    const text = await res.text();
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`upsert into ${name} answered ${res.status}: ${text.slice(0, 500)}`);
    const body = JSON.parse(text) as { upserted: number };
    if (body.upserted !== items.length)
      throw new Error(`upsert into ${name} wrote ${body.upserted} of ${items.length}: ${text.slice(0, 500)}`);
  }
}

import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { testEnv } from "./env.js";
import { serviceNodeFlags } from "../../scripts/service-node-flags.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The environment a child process of the service gets: the test storage plus overrides. */
function childEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base = testEnv();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: "info",
    NODE_ENV: "test",
    DATABASE_URL: base.DATABASE_URL ?? "",
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document (undefined when it is not exactly one). */
  json: unknown;
  /** The JSON lines of stderr (audit lines), parsed. */
  stderrJson: Record<string, unknown>[];
}

export interface CliOptions {
  /**
   * How the CLI is started: "node" (node dist/admin.js, the default), "bin" (dist/admin.js itself, as the
   * package's `collections-admin` bin runs through its shebang) or "npm" (`npm run -s admin -- …`).
   */
  via?: "node" | "bin" | "npm";
  /** Options for node before the script (via "node" only). */
  nodeArgs?: string[];
}

function cliCommand(args: string[], options: CliOptions): [string, string[]] {
  switch (options.via ?? "node") {
    case "node":
      return [process.execPath, [...(options.nodeArgs ?? []), "dist/admin.js", ...args]];
    case "bin":
      return [`${root}dist/admin.js`, args];
    case "npm":
      return ["npm", ["run", "-s", "admin", "--", ...args]];
  }
}

/** The admin CLI (dist/, built by the global setup) as a child process, on the test storage plus `overrides`. */
export function runCli(
  args: string[],
  overrides: Record<string, string | undefined> = {},
  options: CliOptions = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [command, argv] = cliCommand(args, options);
    const child = spawn(command, argv, {
      cwd: root,
      env: childEnv(overrides),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      const stderrJson = stderr
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, stdout, stderr, json, stderrJson });
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Every stdout line so far, parsed where it is JSON. */
  lines: unknown[];
  stderr: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** `npm start` (node on dist/main.js, with its node options) as a child process, on PORT=0; resolves once it logs that it listens. */
export function startServerProcess(
  overrides: Record<string, string | undefined> = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...serviceNodeFlags(), "dist/main.js"], {
    cwd: root,
    env: childEnv({ PORT: "0", HOST: "127.0.0.1", ...overrides }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: unknown[] = [];
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 60_000);
    child.stderr!.on("data", (d) => (stderr += d));
    onLogLines(child.stdout!, (parsed) => {
      lines.push(parsed);
      const msg = parsed as { msg?: string; url?: string };
      if (msg?.msg === "listening" && msg.url) {
        clearTimeout(timer);
        resolve({
          child,
          url: msg.url,
          lines,
          stderr: () => stderr,
          exited,
          stop(signal = "SIGTERM") {
            child.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening: ${stderr}`));
    });
  });
}

/** Runs the server process to completion (for boot failures): exit code and stderr. */
export function runServerToExit(
  overrides: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...serviceNodeFlags(), "dist/main.js"], {
      cwd: root,
      env: childEnv({ PORT: "0", HOST: "127.0.0.1", ...overrides }),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** Calls `onLine` with each line of a process's stdout, parsed where it is JSON (else the text). */
export function onLogLines(stdout: NodeJS.ReadableStream, onLine: (parsed: unknown) => void): void {
  let buffered = "";
  stdout.on("data", (d) => {
    buffered += d;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let parsed: unknown = line;
      try {
        parsed = JSON.parse(line);
      } catch {
        /* not JSON (npm's banner): kept as text */
      }
      onLine(parsed);
    }
  });
}

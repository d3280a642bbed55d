import { execFile, spawn, type ChildProcess } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { onLogLines } from "./process.js";

// `npm start` as an operator runs it, on a copy of the repository, in a process group of its own so that
// a test can see (/proc) and, on failure, end every process it left.

const root = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

/**
 * A copy of the repository as a fresh clone has it after `npm install`: the tracked and untracked (not
 * ignored) files, node_modules linked to this checkout's, and what postinstall builds for `npm start`:
 * the Prisma client and dist/ (its type declarations for the client package are left out: they are not
 * run, and building them writes a cache inside node_modules, which is shared here).
 */
export async function copyRepository(): Promise<{ dir: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "collections-npm-start-"));
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    maxBuffer: 64 << 20,
  });
  for (const file of stdout.split("\0").filter(Boolean)) {
    const from = join(root, file);
    if (!existsSync(from) || !statSync(from).isFile()) continue; // a tracked file deleted in the work tree
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(from, join(dir, file));
  }
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  await run(process.execPath, ["scripts/prisma-generate.mjs"], { cwd: dir });
  await run(process.execPath, ["scripts/build.mjs"], { cwd: dir });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface GroupProcess {
  pid: number;
  ppid: number;
  /** "R", "S", "Z" (exited, not yet reaped), … */
  state: string;
  cmdline: string;
  /** NODE_OPTIONS from its environment, if any. */
  nodeOptions: string | undefined;
}

/** The processes whose process group is `pgid`, from /proc. */
export function processGroup(pgid: number): GroupProcess[] {
  const found: GroupProcess[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the parenthesised command name: state, ppid, pgrp, …
      const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) !== pgid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      let nodeOptions: string | undefined;
      try {
        nodeOptions = readFileSync(`/proc/${entry}/environ`, "utf8")
          .split("\0")
          .find((v) => v.startsWith("NODE_OPTIONS="))
          ?.slice(13);
      } catch {
        /* a zombie has no environment to read */
      }
      found.push({ pid: Number(entry), ppid: Number(ppid), state: state!, cmdline, nodeOptions });
    } catch {
      /* the process ended while it was read */
    }
  }
  return found;
}

/** A TypeScript loader on a command line or in NODE_OPTIONS: tsx, ts-node, --import/--loader hooks. */
export const TYPESCRIPT_LOADER = /\btsx\b|ts-node|--import|--(experimental-)?loader|\.ts\b/;

export interface NpmStart {
  npm: ChildProcess;
  /** The process group: npm's pid. */
  pgid: number;
  url: string;
  /** stdout so far, line by line (JSON lines parsed, others kept as text). */
  lines: unknown[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** npm's stdout and stderr are closed: every line is in `lines` (never, while an orphan holds them). */
  closed: Promise<void>;
  /** Ends whatever is left of the group at once (clean-up after a failure). */
  killGroup(): void;
}

/**
 * `npm start [...npmArgs]` in `dir`, detached (a process group of its own), with the environment of this
 * process less npm's own variables (an outer `npm test --silent` would otherwise pass on its settings)
 * plus `env`. Resolves once the service logs that it listens.
 */
export function npmStart(
  dir: string,
  env: Record<string, string>,
  npmArgs: string[] = [],
): Promise<NpmStart> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")),
  );
  const npm = spawn("npm", ["start", ...npmArgs], {
    cwd: dir,
    detached: true,
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pgid = npm.pid!;
  const lines: unknown[] = [];
  let stderr = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const closed = new Promise<void>((resolve) => npm.once("close", () => resolve()));
  const killGroup = () => {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      /* nothing left */
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup();
      reject(new Error(`npm start did not listen within 60 s: ${stderr}`));
    }, 60_000);
    npm.stderr!.on("data", (d) => (stderr += d));
    onLogLines(npm.stdout!, (parsed) => {
      lines.push(parsed);
      const msg = parsed as { msg?: string; url?: string };
      if (msg?.msg === "listening" && msg.url) {
        clearTimeout(timer);
        resolve({ npm, pgid, url: msg.url, lines, stderr: () => stderr, exited, closed, killGroup });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });
}

// Structured logs: one JSON object per line on stdout. Never pass a token or a request body here.

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

let stdoutLines: string[] = [];
let flushOnExit = false;

function flushStdout(): void {
  if (stdoutLines.length === 0) return;
  const text = stdoutLines.join("");
  stdoutLines = [];
  process.stdout.write(text);
}

/**
 * Lines for stdout, written together once per turn of the event loop: stdout is synchronous for files
 * and pipes, and one write per request line was a measurable share of a point read's CPU (bench).
 * What is pending is written on exit.
 */
function bufferedStdout(line: string): void {
  if (!flushOnExit) {
    flushOnExit = true;
    process.on("exit", flushStdout);
  }
  if (stdoutLines.length === 0) setImmediate(flushStdout);
  stdoutLines.push(line);
}

export function createLogger(level: LogLevel, write: (line: string) => void = bufferedStdout): Logger {
  const at = (lvl: Exclude<LogLevel, "silent">) => (msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < rank[level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }) + "\n");
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export function errorFields(e: unknown): Record<string, unknown> {
  if (e instanceof Error) return { error: e.message, error_name: e.name, stack: e.stack };
  return { error: String(e) };
}

// Progress of the long commands (collection:export, collection:import) on stderr (SPEC §9.4): a bar
// (cli-progress: items, items/s, ETA when the total is known) when stderr is a terminal, and otherwise a
// JSON line `{"progress": {…}}` at most once a second, plus one when the work ends. stdout keeps the data
// (an export without --out) or the one JSON document of the command.

export interface ProgressOptions {
  /** "exporting" or "importing", the bar's label. */
  label: string;
  /**
   * What the bar measures: items (an export, whose item count is known beforehand) or bytes (an import
   * from a file, whose size is known). Without `total`, only the count and the rate are shown.
   */
  unit: "items" | "bytes";
  total?: number;
  stream?: NodeJS.WriteStream;
}

export interface Progress {
  /** Items done so far, and bytes read (import). */
  update(items: number, bytes?: number): void;
  /** The last update: a final line (JSON), or the bar at its end. */
  stop(): void;
}

const rate = (items: number, started: number) => {
  const seconds = (Date.now() - started) / 1000;
  return seconds > 0 ? Math.round(items / seconds) : 0;
};

export async function startProgress(options: ProgressOptions): Promise<Progress> {
  const stream = options.stream ?? process.stderr;
  return stream.isTTY ? terminalBar(options, stream) : jsonLines(options, stream);
}

function jsonLines(options: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const started = Date.now();
  let last = started;
  let items = 0;
  let bytes: number | undefined;
  const line = (done: boolean) => {
    const progress: Record<string, unknown> = { items, rate: rate(items, started) };
    if (bytes !== undefined) progress.bytes = bytes;
    if (options.total !== undefined) progress.total = options.total;
    if (options.total !== undefined) progress.unit = options.unit;
    if (done) progress.done = true;
    stream.write(JSON.stringify({ progress }) + "\n");
  };
  return {
    update(n, b) {
      items = n;
      if (b !== undefined) bytes = b;
      const now = Date.now();
      if (now - last >= 1000) {
        last = now;
        line(false);
      }
    },
    stop: () => line(true),
  };
}

async function terminalBar(options: ProgressOptions, stream: NodeJS.WriteStream): Promise<Progress> {
  const { default: cliProgress } = await import("cli-progress");
  const started = Date.now();
  const known = options.total !== undefined && options.total > 0;
  const count =
    options.unit === "items" ? "{value}/{total} items" : "{items} items ({percentage}% of the file)";
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: known
        ? `${options.label} [{bar}] {percentage}% | ${count} | {rate} items/s | ETA {eta_formatted}`
        : `${options.label} {items} items | {rate} items/s`,
      barsize: 30,
      hideCursor: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let total = known ? options.total! : 0;
  bar.start(total, 0, { items: 0, rate: 0 });
  return {
    update(items, bytes) {
      const value = options.unit === "items" ? items : (bytes ?? 0);
      if (known && value > total) bar.setTotal((total = value)); // items written during the export
      bar.update(value, { items, rate: rate(items, started) });
    },
    stop() {
      bar.stop();
    },
  };
}

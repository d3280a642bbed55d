/** The p-th percentile (0..100) of the samples, nearest-rank. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const ms = (startNs: bigint) => Number(process.hrtime.bigint() - startNs) / 1e6;

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export interface Row {
  scenario: string;
  metric: string;
  service: number | string;
  baseline: number | string;
  ratio: number | string;
  target: string;
}

function cell(v: number | string): string {
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return "-";
  return Math.abs(v) >= 1000
    ? Math.round(v).toLocaleString("en-US")
    : String(round(v, Math.abs(v) >= 100 ? 0 : 2));
}

/** A plain-text table, one line per row. */
export function formatTable(rows: Row[]): string {
  const header = ["scenario", "metric", "service", "baseline", "ratio", "target"];
  const lines = [
    header,
    ...rows.map((r) => [r.scenario, r.metric, cell(r.service), cell(r.baseline), cell(r.ratio), r.target]),
  ];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]) =>
    l
      .map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [fmt(lines[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...lines.slice(1).map(fmt)].join("\n");
}

/** "met" / "MISSED" for a target, or "" where there is none. */
export function verdict(ok: boolean | undefined, description: string): string {
  if (ok === undefined) return "";
  return `${ok ? "met" : "MISSED"} (${description})`;
}

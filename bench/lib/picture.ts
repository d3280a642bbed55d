import { kbReads, largeValueReads, TARGETS, type Figures } from "./report.js";

// The run's picture (issue 13), hand-written SVG: (a) each scenario's ratio (service / baseline) as a bar
// against its target line, (a') the figures where lower is better (prefix p50 gap, first byte, RSS growth)
// each against its limit, on a scale where every limit falls on one line, and (b) the service's resident
// memory over time during the largest streamed reads.

interface Bar {
  label: string;
  value: number;
  /** The target (ratio: at least; limit: at most), or null for a figure without one. */
  target: number | null;
  /** Shown beside the bar, e.g. "0.72" or "1.3 ms". */
  text: string;
  /** A PostgreSQL target in an embedded run: drawn, not judged (grey). */
  unjudged?: boolean;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
const GREEN = "#2e7d32";
const RED = "#c62828";
const GREY = "#9e9e9e";

/** Ratios, higher is better: the bar's colour says whether it reaches its target. */
function ratioBars(f: Figures, judged: boolean): Bar[] {
  const bars: Bar[] = [];
  const ratio = (label: string, value: number, target: number | null, always = false) =>
    bars.push({ label, value, target, text: fmt(value), unjudged: !judged && !always });
  // In an embedded run the service's stream and point reads are the embedded scenario's: drawn once.
  const same = f.embedded?.sameReadsAsAbove === true;
  for (const u of f.upsert) {
    const s = u.service;
    ratio(
      `upsert ${s.clients} client${s.clients > 1 ? "s" : ""}${s.collections > 1 ? `, ${s.collections} colls` : ", 1 coll"}`,
      s.itemsPerSec / u.baseline.itemsPerSec,
      TARGETS.upsert,
    );
  }
  if (f.expiry)
    ratio(
      "upsert beside expiry sweep",
      f.expiry.sweeping.itemsPerSec / f.expiry.quiet.itemsPerSec,
      TARGETS.expiry,
    );
  const big = (reads: Figures["stream"]) => (reads.length > 1 ? reads[reads.length - 1] : undefined);
  const streamBar = (
    label: string,
    read: Figures["stream"][number] | undefined,
    target: number | null,
    always = false,
  ) => {
    if (read)
      ratio(
        `${label} ${read.service.items.toLocaleString("en-US")} x ${Math.round((read.service.valueBytes ?? 250) / 1024) || "0.25"} KB`,
        read.service.mbPerSec / read.baseline.mbPerSec,
        target,
        always,
      );
  };
  if (!same) streamBar("stream", big(kbReads(f.stream)), TARGETS.stream);
  streamBar("stream", big(largeValueReads(f.stream)), null);
  streamBar("export", big(f.export), null);
  if (f.point && !same)
    ratio("point reads x32", f.point.service.requestsPerSec / f.point.baseline.requestsPerSec, TARGETS.point);
  if (f.embedded) {
    streamBar("embedded stream", big(kbReads(f.embedded.stream)), TARGETS.embeddedStream, true);
    const p = f.embedded.point;
    if (p)
      ratio(
        "embedded point reads x32",
        p.service.requestsPerSec / p.baseline.requestsPerSec,
        TARGETS.embeddedPoint,
        true,
      );
  }
  return bars;
}

/** Figures with an upper limit. */
function limitBars(f: Figures, judged: boolean): Bar[] {
  const bars: Bar[] = [];
  const prefix = f.patterns.find((p) => p.kind === "prefix");
  if (prefix) {
    const gap = prefix.http.p50 - prefix.sql.p50;
    bars.push({
      label: "prefix p50 gap (http - sql)",
      value: gap,
      target: TARGETS.prefixGapMs,
      text: `${fmt(gap)} ms`,
      unjudged: !judged,
    });
  }
  const kb = kbReads(f.stream);
  const bigKb = kb.length > 1 ? kb[kb.length - 1]! : undefined;
  if (bigKb)
    bars.push({
      label: `stream ${bigKb.service.items.toLocaleString("en-US")} first byte`,
      value: bigKb.service.firstByteMs,
      target: TARGETS.streamFirstByteMs,
      text: `${fmt(bigKb.service.firstByteMs, 1)} ms, baseline ${fmt(bigKb.baseline.firstByteMs, 1)}`,
      unjudged: !judged,
    });
  for (const [label, group] of [
    ["1 KB", kb],
    ["500 KB", largeValueReads(f.stream)],
  ] as const) {
    if (group.length < 2) continue;
    const small = group[0]!.service;
    const large = group[group.length - 1]!.service;
    if (small.peakRssMb === undefined || large.peakRssMb === undefined) continue;
    const growth = large.peakRssMb - small.peakRssMb;
    bars.push({
      label: `stream RSS growth ${label}, ${small.items.toLocaleString("en-US")} to ${large.items.toLocaleString("en-US")}`,
      value: growth,
      target: TARGETS.streamRssGrowthMb,
      text: `${growth >= 0 ? "+" : ""}${fmt(growth, 1)} MB`,
      unjudged: !judged,
    });
  }
  return bars;
}

export interface RssSeries {
  label: string;
  points: [number, number][];
}

/** The service's RSS during the largest read of each value size. */
function rssSeries(f: Figures): RssSeries[] {
  const series: RssSeries[] = [];
  for (const [label, group] of [
    ["1 KB values", kbReads(f.stream)],
    ["500 KB values", largeValueReads(f.stream)],
  ] as const) {
    const s = group[group.length - 1]?.service;
    if (s?.rssTimeline?.length)
      series.push({ label: `${s.items.toLocaleString("en-US")} items, ${label}`, points: s.rssTimeline });
  }
  return series;
}

const WIDTH = 960;
const LABEL_W = 330;
const ROW_H = 24;

function barPanel(
  y0: number,
  title: string,
  note: string,
  bars: Bar[],
  mode: "ratio" | "limit",
): [string, number] {
  const out: string[] = [];
  const plotW = WIDTH - LABEL_W - 230;
  // Ratios on 0..max(1.2, largest); limits on a scale where the limit is at 60% of the width.
  const maxRatio = Math.max(1.2, ...bars.map((b) => b.value * 1.05));
  const x = (b: Bar, v: number) =>
    LABEL_W +
    (mode === "ratio" ? (v / maxRatio) * plotW : Math.min(1.3, Math.max(0, v / b.target!)) * 0.6 * plotW);
  out.push(`<text x="10" y="${y0 + 18}" font-size="15" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="10" y="${y0 + 36}" font-size="11" fill="#555">${esc(note)}</text>`);
  let y = y0 + 48;
  const top = y;
  for (const b of bars) {
    const met =
      b.target === null || b.unjudged ? null : mode === "ratio" ? b.value >= b.target : b.value <= b.target;
    const colour = met === null ? GREY : met ? GREEN : RED;
    const w = Math.max(1, x(b, b.value) - LABEL_W);
    const textX = Math.max(LABEL_W + w, b.target === null ? 0 : x(b, b.target)) + 6;
    out.push(
      `<text x="${LABEL_W - 8}" y="${y + 16}" font-size="12" text-anchor="end">${esc(b.label)}</text>`,
    );
    out.push(
      `<rect x="${LABEL_W}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW_H - 8}" fill="${colour}"/>`,
    );
    const targetText =
      b.target === null
        ? ""
        : `  (${b.unjudged ? "PostgreSQL " : ""}${mode === "ratio" ? `target ≥ ${b.target}` : `limit ≤ ${b.target}`})`;
    out.push(`<text x="${textX.toFixed(1)}" y="${y + 16}" font-size="12">${esc(b.text + targetText)}</text>`);
    if (b.target !== null && mode === "ratio") {
      const tx = x(b, b.target);
      out.push(
        `<line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${y + 1}" y2="${y + ROW_H - 1}" stroke="#000" stroke-width="2"/>`,
      );
    }
    y += ROW_H;
  }
  if (mode === "ratio") {
    for (const v of [0, 0.5, 1]) {
      const tx = LABEL_W + (v / maxRatio) * plotW;
      out.push(`<line x1="${tx}" x2="${tx}" y1="${top}" y2="${y}" stroke="#ccc" stroke-dasharray="3,3"/>`);
      out.push(`<text x="${tx}" y="${y + 12}" font-size="10" text-anchor="middle" fill="#555">${v}</text>`);
    }
  } else if (bars.length) {
    const tx = LABEL_W + 0.6 * plotW;
    out.push(`<line x1="${tx}" x2="${tx}" y1="${top}" y2="${y}" stroke="#000" stroke-width="2"/>`);
    out.push(`<text x="${tx}" y="${y + 12}" font-size="10" text-anchor="middle" fill="#555">limit</text>`);
  }
  return [out.join("\n"), y + 20 - y0];
}

function rssPanel(y0: number, series: RssSeries[]): [string, number] {
  const out: string[] = [];
  const h = 240;
  const left = 70;
  const right = WIDTH - 30;
  const top = y0 + 48;
  const bottom = top + h;
  out.push(
    `<text x="10" y="${y0 + 18}" font-size="15" font-weight="bold">(b) Service RSS during the largest streamed reads</text>`,
  );
  out.push(
    `<text x="10" y="${y0 + 36}" font-size="11" fill="#555">VmRSS of the service process from /proc, sampled about every 50 ms while the benchmark reads the whole collection (GET)</text>`,
  );
  const all = series.flatMap((s) => s.points);
  if (!all.length) {
    out.push(`<text x="${left}" y="${top + 20}" font-size="12">no streamed read in this run</text>`);
    return [out.join("\n"), 80];
  }
  const maxT = Math.max(1, ...all.map((p) => p[0]));
  const maxMb = Math.max(...all.map((p) => p[1]));
  const minMb = Math.min(...all.map((p) => p[1]));
  const yMax = Math.ceil((maxMb + 10) / 50) * 50;
  const yMin = Math.max(0, Math.floor((minMb - 10) / 50) * 50);
  const px = (t: number) => left + (t / maxT) * (right - left);
  const py = (mb: number) => bottom - ((mb - yMin) / (yMax - yMin)) * h;
  out.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${h}" fill="none" stroke="#999"/>`);
  for (let mb = yMin; mb <= yMax; mb += 50) {
    out.push(`<line x1="${left}" x2="${right}" y1="${py(mb)}" y2="${py(mb)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 6}" y="${py(mb) + 4}" font-size="10" text-anchor="end">${mb} MB</text>`);
  }
  const step =
    [100, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 60_000].find((t) => maxT / t <= 10) ?? 120_000;
  for (let t = 0; t <= maxT; t += step)
    out.push(
      `<text x="${px(t)}" y="${bottom + 14}" font-size="10" text-anchor="middle">${(t / 1000).toFixed(step < 1000 ? 2 : 0)} s</text>`,
    );
  const colours = ["#1565c0", "#ef6c00"];
  series.forEach((s, i) => {
    const d = s.points
      .map(([t, mb], j) => `${j ? "L" : "M"}${px(t).toFixed(1)},${py(mb).toFixed(1)}`)
      .join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${colours[i % 2]}" stroke-width="1.5"/>`);
    const peak = Math.max(...s.points.map((p) => p[1]));
    const first = s.points[0]![1];
    out.push(
      `<text x="${left + 10}" y="${top + 16 + i * 16}" font-size="12" fill="${colours[i % 2]}">${esc(
        `${s.label}: ${first.toFixed(0)} MB at the start, peak ${peak.toFixed(0)} MB, ${(s.points[s.points.length - 1]![0] / 1000).toFixed(1)} s`,
      )}</text>`,
    );
  });
  return [out.join("\n"), h + 80];
}

/** The whole picture. */
export function renderPicture(f: Figures, title: string, judged: boolean): string {
  const parts: string[] = [];
  let y = 40;
  const [a, ah] = barPanel(
    y,
    "(a) Ratios: service / baseline of the same run (higher is better)",
    judged
      ? "green: target met, red: missed, grey: no target; the black tick is the target"
      : "green: target met, red: missed, grey: no target or a PostgreSQL target (judged in PostgreSQL runs); the black tick is the target",
    ratioBars(f, judged),
    "ratio",
  );
  parts.push(a);
  y += ah;
  const [l, lh] = barPanel(
    y,
    "(a') Lower is better: each figure on the scale of its own limit",
    "the black line is each figure's limit (prefix gap 1 ms, first byte 50 ms, RSS growth 32 MB)",
    limitBars(f, judged),
    "limit",
  );
  parts.push(l);
  y += lh;
  const [b, bh] = rssPanel(y, rssSeries(f));
  parts.push(b);
  y += bh;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="24" font-size="17" font-weight="bold">${esc(title)}</text>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}

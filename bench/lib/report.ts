import type { ExpiryFigures } from "../scenarios/expiry.js";
import type { PatternFigures } from "../scenarios/patterns.js";
import type { PointFigures } from "../scenarios/point.js";
import type { StreamFigures } from "../scenarios/stream.js";
import type { UpsertFigures } from "../scenarios/upsert.js";
import { round, verdict, type Row } from "./stats.js";

export interface Figures {
  /** The run with the median ratio of each configuration, and the ratios of all its runs. */
  upsert: { service: UpsertFigures; baseline: UpsertFigures; runRatios: number[] }[];
  stream: { service: StreamFigures; baseline: StreamFigures }[];
  /** GET /collections/{name}/export (SPEC §9.4) against the same COPY baseline. */
  export: { service: StreamFigures; baseline: StreamFigures }[];
  patterns: PatternFigures[];
  point?: { service: PointFigures; baseline: PointFigures };
  /** Upserts beside 100,000 items being swept (service) and beside as many that do not expire (baseline). */
  expiry?: ExpiryFigures;
}

export interface Report {
  rows: Row[];
  /** null for a scenario that did not run (--only). */
  ratios: { upsert: number | null; stream: number | null; point: number | null };
  targets: { name: string; met: boolean }[];
}

/** The table rows, the headline ratios and the issue #6 targets (judged on PostgreSQL only). */
export function buildReport(f: Figures, judged: boolean): Report {
  const rows: Row[] = [];
  const targets: { name: string; met: boolean }[] = [];
  const target = (name: string, ok: boolean, text: string) => {
    if (!judged) return "";
    targets.push({ name, met: ok });
    return verdict(ok, text);
  };

  for (const { service: s, baseline: b, runRatios } of f.upsert) {
    const spread = s.collections > 1;
    const name = `upsert ${s.clients} client${s.clients > 1 ? "s" : ""}${spread ? `, ${s.collections} colls` : ""}`;
    const ratio = s.itemsPerSec / b.itemsPerSec;
    rows.push({
      scenario: name,
      metric: "insert items/s",
      service: s.insertItemsPerSec,
      baseline: b.insertItemsPerSec,
      ratio: s.insertItemsPerSec / b.insertItemsPerSec,
      target: "",
    });
    rows.push({
      scenario: name,
      metric: "update items/s",
      service: s.updateItemsPerSec,
      baseline: b.updateItemsPerSec,
      ratio: s.updateItemsPerSec / b.updateItemsPerSec,
      target: "",
    });
    rows.push({
      scenario: name,
      metric: "items/s (both rounds)",
      service: s.itemsPerSec,
      baseline: b.itemsPerSec,
      ratio,
      target: spread ? "" : target(name, ratio >= 0.7, ">= 0.7"),
    });
    if (s.cpuMsPerRequest !== undefined)
      rows.push({
        scenario: name,
        metric: "service CPU ms/request",
        service: s.cpuMsPerRequest,
        baseline: "",
        ratio: "",
        target: "",
      });
    rows.push({
      scenario: name,
      metric: "ratio of each run",
      service: runRatios.map((r) => round(r)).join(" / "),
      baseline: "",
      ratio: "",
      target: "median reported",
    });
  }

  if (f.expiry) {
    const e = f.expiry;
    const name = `upsert ${e.clients} clients beside ${e.expiring.toLocaleString("en-US")} expiring`;
    const ratio = e.sweeping.itemsPerSec / e.quiet.itemsPerSec;
    rows.push({
      scenario: name,
      metric: "items/s: swept vs not expiring",
      service: e.sweeping.itemsPerSec,
      baseline: e.quiet.itemsPerSec,
      ratio,
      target: target("writers while the expiry sweep runs", ratio >= 0.8, ">= 0.8"),
    });
    rows.push({
      scenario: name,
      metric: "swept while writing",
      service: e.sweptWhileWriting,
      baseline: "",
      ratio: "",
      target: "",
    });
    rows.push({
      scenario: name,
      metric: `sweep items/s (rest x${e.restFactor})`,
      service: e.expiring / (e.sweepMs / 1000),
      baseline: "",
      ratio: "",
      target: "",
    });
    rows.push({
      scenario: name,
      metric: "ratio of each run",
      service: e.runRatios.map((r) => round(r)).join(" / "),
      baseline: "",
      ratio: "",
      target: "median reported",
    });
  }

  const small = f.stream[0]?.service;
  for (const { service: s, baseline: b } of f.stream) {
    const name = `stream ${s.items.toLocaleString("en-US")}`;
    const big = s === f.stream[f.stream.length - 1]?.service && f.stream.length > 1;
    const ratio = s.mbPerSec / b.mbPerSec;
    rows.push({
      scenario: name,
      metric: "MB/s",
      service: s.mbPerSec,
      baseline: b.mbPerSec,
      ratio,
      target: big ? target("stream MB/s", ratio >= 0.5, ">= 0.5") : "",
    });
    rows.push({
      scenario: name,
      metric: "items/s",
      service: s.itemsPerSec,
      baseline: b.itemsPerSec,
      ratio: s.itemsPerSec / b.itemsPerSec,
      target: "",
    });
    rows.push({
      scenario: name,
      metric: "MB sent",
      service: s.bytes / 1e6,
      baseline: b.bytes / 1e6,
      ratio: "",
      target: "",
    });
    rows.push({
      scenario: name,
      metric: "first byte ms",
      service: s.firstByteMs,
      baseline: b.firstByteMs,
      ratio: "",
      target: target(`${name} first byte`, s.firstByteMs < 100, "< 100 ms"),
    });
    const growth = big && small?.peakRssMb !== undefined ? s.peakRssMb! - small.peakRssMb : undefined;
    rows.push({
      scenario: name,
      metric: "service peak RSS MB",
      service: s.peakRssMb ?? NaN,
      baseline: "",
      ratio: "",
      target:
        growth === undefined
          ? ""
          : target(
              "stream memory",
              growth <= 32,
              `${growth >= 0 ? "+" : ""}${round(growth, 1)} MB over the smaller read, <= 32`,
            ),
    });
  }

  const smallExport = f.export[0]?.service;
  for (const { service: s, baseline: b } of f.export) {
    const name = `export ${s.items.toLocaleString("en-US")}`;
    const big = s === f.export[f.export.length - 1]?.service && f.export.length > 1;
    rows.push({
      scenario: name,
      metric: "MB/s",
      service: s.mbPerSec,
      baseline: b.mbPerSec,
      ratio: s.mbPerSec / b.mbPerSec,
      target: "",
    });
    rows.push({
      scenario: name,
      metric: "items/s",
      service: s.itemsPerSec,
      baseline: b.itemsPerSec,
      ratio: s.itemsPerSec / b.itemsPerSec,
      target: "",
    });
    rows.push({
      scenario: name,
      metric: "first byte ms",
      service: s.firstByteMs,
      baseline: b.firstByteMs,
      ratio: "",
      target: "",
    });
    const growth =
      big && smallExport?.peakRssMb !== undefined ? s.peakRssMb! - smallExport.peakRssMb : undefined;
    rows.push({
      scenario: name,
      metric: "service peak RSS MB",
      service: s.peakRssMb ?? NaN,
      baseline: "",
      ratio: "",
      target:
        growth === undefined
          ? ""
          : target(
              "export memory",
              growth <= 32,
              `${growth >= 0 ? "+" : ""}${round(growth, 1)} MB over the smaller export, <= 32`,
            ),
    });
  }

  for (const p of f.patterns) {
    const name = `pattern ${p.kind}`;
    const gap = p.http.p50 - p.sql.p50;
    const usesKeyIndex = p.indexes.some(
      (i) => i === "items_collection_id_key_idx" || i === "items_key_idx" || i === "items_pkey",
    );
    rows.push({
      scenario: name,
      metric: `items per answer`,
      service: p.firstResultCount,
      baseline: "",
      ratio: "",
      target: "",
    });
    rows.push({
      scenario: name,
      metric: "p50 ms (http vs sql)",
      service: p.http.p50,
      baseline: p.sql.p50,
      ratio: p.http.p50 / p.sql.p50,
      target: p.kind === "prefix" ? target("prefix p50", gap <= 2, `gap ${round(gap, 2)} ms <= 2`) : "",
    });
    rows.push({
      scenario: name,
      metric: "p99 ms (http vs sql)",
      service: p.http.p99,
      baseline: p.sql.p99,
      ratio: p.http.p99 / p.sql.p99,
      target: "",
    });
    rows.push({
      scenario: name,
      metric: "indexes in plan",
      service: p.indexes.join(", ") || "none",
      baseline: "",
      ratio: "",
      target: p.kind === "prefix" ? target("prefix index", usesKeyIndex, "a key index") : "",
    });
  }

  let pointRatio = NaN;
  if (f.point) {
    const { service: s, baseline: b } = f.point;
    pointRatio = s.requestsPerSec / b.requestsPerSec;
    rows.push({
      scenario: "point reads x32",
      metric: "requests/s",
      service: s.requestsPerSec,
      baseline: b.requestsPerSec,
      ratio: pointRatio,
      target: target("point reads", pointRatio >= 0.6, ">= 0.6"),
    });
    rows.push({
      scenario: "point reads x32",
      metric: "p99 ms",
      service: s.p99Ms,
      baseline: b.p99Ms,
      ratio: s.p99Ms / b.p99Ms,
      target: "",
    });
    rows.push({
      scenario: "point reads x32",
      metric: "process CPU ms/request",
      service: s.cpuMsPerRequest,
      baseline: b.cpuMsPerRequest,
      ratio: s.cpuMsPerRequest / b.cpuMsPerRequest,
      target: "",
    });
    rows.push({
      scenario: "point reads x32",
      metric: "write syscalls/request",
      service: s.writesPerRequest,
      baseline: b.writesPerRequest,
      ratio: s.writesPerRequest / b.writesPerRequest,
      target: "",
    });
    rows.push({
      scenario: "point reads x32",
      metric: "machine CPU ms/request",
      service: s.machineCpuMsPerRequest,
      baseline: b.machineCpuMsPerRequest,
      ratio: s.machineCpuMsPerRequest / b.machineCpuMsPerRequest,
      target: "",
    });
  }

  const targeted = f.upsert.filter((u) => u.service.collections === 1);
  const upsertRatio = targeted.length
    ? Math.min(...targeted.map((u) => u.service.itemsPerSec / u.baseline.itemsPerSec))
    : null;
  const last = f.stream[f.stream.length - 1];
  const rounded = (n: number | null) => (n === null || !Number.isFinite(n) ? null : round(n));
  return {
    rows,
    targets,
    ratios: {
      upsert: rounded(upsertRatio),
      stream: rounded(last ? last.service.mbPerSec / last.baseline.mbPerSec : null),
      point: rounded(f.point ? pointRatio : null),
    },
  };
}

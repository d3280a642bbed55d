import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

// GET /metrics (SPEC §8.1): one Registry per service instance (tests run several in one process).
// Labels carry route templates, methods and statuses only: never a collection name, key or raw path.

/** Items counted by the one item layer (server/services/item-operations.ts), whichever surface asked. */
export interface ItemCounters {
  read(n: number): void;
  written(n: number): void;
  deleted(n: number): void;
}

/** What the expiry sweep removed (server/services/sweep.ts). */
export interface SweepCounters {
  expired(n: number): void;
  purged(n: number): void;
  pruned(n: number): void;
}

/** What /metrics reads at scrape time. */
export interface MetricSources {
  openStreams(): number;
  /** Connections of the PostgreSQL pool; null where there is none (the embedded database). */
  pool(): { total: number; idle: number; waiting: number } | null;
  storage: string;
}

export interface Metrics {
  readonly registry: Registry;
  readonly items: ItemCounters;
  readonly sweep: SweepCounters;
  /** One answered HTTP request: `route` is a template (server/http/route-table.ts). */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** The text exposition, with the gauges read now. */
  render(sources: MetricSources): Promise<string>;
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ["method", "route", "status"] as const;
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route template and status",
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from the request's arrival to the end of its answer, by method, route template and status",
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  const read = counter(
    "collections_items_read_total",
    "Items read, on every surface (REST, tRPC, Lightning)",
  );
  const written = counter(
    "collections_items_written_total",
    "Items written (created or updated), on every surface",
  );
  const deleted = counter("collections_items_deleted_total", "Items deleted, on every surface");
  const expired = counter(
    "collections_items_expired_total",
    "Expired items the expiry sweep removed (made tombstones and logged as expire changes)",
  );
  const purged = counter(
    "collections_tombstones_purged_total",
    "Tombstones (of deleted and expired items) the expiry sweep removed from storage",
  );
  const pruned = counter(
    "collections_changes_pruned_total",
    "Change log entries the expiry sweep pruned after CHANGES_RETENTION_HOURS",
  );
  const openStreams = new Gauge({
    name: "collections_open_streams",
    help: "Streamed answers open now (item GET and DELETE, Lightning list and delete, items.stream)",
    registers: [registry],
  });
  // Registered at the first scrape that has a pool: the embedded database has none (no misleading zeros).
  let pool: { total: Gauge; idle: Gauge; waiting: Gauge } | undefined;
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [registry] });
  const poolGauges = () => ({
    total: gauge("collections_db_pool_connections", "PostgreSQL connections open in the pool"),
    idle: gauge("collections_db_pool_idle", "PostgreSQL connections open and idle"),
    waiting: gauge("collections_db_pool_waiting", "Queries waiting for a PostgreSQL connection"),
  });
  const storage = new Gauge({
    name: "collections_storage_info",
    help: "The storage in use (always 1)",
    labelNames: ["storage"],
    registers: [registry],
  });

  return {
    registry,
    items: {
      read: (n) => n > 0 && read.inc(n),
      written: (n) => n > 0 && written.inc(n),
      deleted: (n) => n > 0 && deleted.inc(n),
    },
    sweep: {
      expired: (n) => n > 0 && expired.inc(n),
      purged: (n) => n > 0 && purged.inc(n),
      pruned: (n) => n > 0 && pruned.inc(n),
    },
    observeRequest(method, route, status, seconds) {
      const labels = { method: METHODS.has(method) ? method : "OTHER", route, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
    async render(sources) {
      openStreams.set(sources.openStreams());
      storage.reset();
      storage.set({ storage: sources.storage }, 1);
      const stats = sources.pool();
      if (stats) {
        pool ??= poolGauges();
        pool.total.set(stats.total);
        pool.idle.set(stats.idle);
        pool.waiting.set(stats.waiting);
      }
      return registry.metrics();
    },
  };
}

import { createAuth } from "./auth/index.js";
import { openDatabase, DataDirLockedError, type Database } from "./db.js";
import { ConfigError, env as loadEnv } from "./env.js";
import { startHttpServer, type RunningServer } from "./http/server.js";
import { createLogger, errorFields } from "./log.js";
import type { Services } from "./context.js";
import { createMetrics } from "./observability/metrics.js";
import { forcedExitCode, onStopSignals } from "./stop-signals.js";
import { startSweeper, sweepSettings, type Sweeper } from "./services/sweep.js";

const FORCED_EXIT_AFTER_MS = 5000;
const LAST_LOG_LINES_MS = 250;

// `npm start`: parse configuration, open (and migrate) the database, serve, stop cleanly on SIGTERM or
// SIGINT (server/stop-signals.ts: a repeated signal forces the stop).

async function main() {
  let config;
  try {
    config = loadEnv();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.LOG_LEVEL);

  // Signals are read from the start: a stop asked for while the database opens (migrations) is carried
  // out as soon as that step ends, never by cutting it short.
  let stopAsked = false;
  let exitCode = 0;
  let running: RunningServer | undefined;
  let sweeper: Sweeper | undefined;
  let shutdown: Promise<void> | undefined;
  const stopped = () => {
    log.info("stopped");
    // The log's pending lines are written on exit (server/log.ts). Node exits by itself once nothing
    // holds the event loop; PGlite can keep a handle open, so the process ends shortly after regardless.
    process.exitCode = exitCode;
    setTimeout(() => process.exit(exitCode), LAST_LOG_LINES_MS).unref();
  };
  const serveUntilStopped = (db: Database) => {
    shutdown ??= (async () => {
      // The expiry sweep ends its statement while requests drain; the database closes after both.
      await Promise.all([running?.stop(), sweeper?.stop()]);
      await db.close();
      stopped();
    })();
  };
  let opened: Database | undefined;
  onStopSignals({
    graceful(signal) {
      log.info("shutting down", { signal });
      stopAsked = true;
      if (running && opened) serveUntilStopped(opened);
    },
    forced(signal) {
      log.warn("forced stop: requests in flight are cut", { signal });
      exitCode = forcedExitCode(signal);
      // Cut connections make the drain end at once; the database still closes cleanly. Exit regardless
      // should closing hang.
      running?.server.closeAllConnections();
      setTimeout(() => process.exit(exitCode), FORCED_EXIT_AFTER_MS).unref();
    },
  });

  let db: Database;
  try {
    db = opened = await openDatabase(config, { migrate: true, serveSocket: true });
  } catch (e) {
    if (e instanceof DataDirLockedError) {
      console.error(e.message);
      process.exit(3);
    }
    throw e;
  }
  let auth;
  try {
    auth = await createAuth(config, db);
  } catch (e) {
    await db.close();
    console.error((e as Error).message);
    process.exit(2);
  }
  if (stopAsked) {
    await db.close();
    return stopped();
  }
  const services: Services = { env: config, db, log, auth, metrics: createMetrics() };
  running = await startHttpServer(services, config.PORT, config.HOST);
  // SPEC §9.2: this instance's expiry sweep (server/services/sweep.ts); the admin CLI never runs one.
  sweeper = startSweeper(
    { sql: db.sql, log, counters: services.metrics.sweep },
    config.EXPIRY_SWEEP_INTERVAL_MS,
    sweepSettings(config),
  );
  log.info("listening", {
    url: running.url,
    storage: db.kind,
    data_dir: db.kind === "postgres" ? undefined : config.DATA_DIR,
  });
  if (stopAsked) serveUntilStopped(db);
}

main().catch((e) => {
  console.error(
    JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "fatal", ...errorFields(e) }),
  );
  process.exit(1);
});

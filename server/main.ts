import { createAuth } from "./auth/index.js";
import { openDatabase, DataDirLockedError } from "./db.js";
import { ConfigError, env as loadEnv } from "./env.js";
import { startHttpServer } from "./http/app.js";
import { createLogger, errorFields } from "./log.js";
import type { Services } from "./context.js";

// `npm start`: parse configuration, open (and migrate) the database, serve, stop cleanly on SIGTERM.

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
  let db;
  try {
    db = await openDatabase(config, { migrate: true, serveSocket: true });
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
  const services: Services = { env: config, db, log, auth };
  const running = await startHttpServer(services, config.PORT, config.HOST);
  log.info("listening", { url: running.url, storage: db.kind, data_dir: db.kind === "postgres" ? undefined : config.DATA_DIR });

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info("shutting down", { signal });
    await running.stop();
    await db.close();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((e) => {
  console.error(JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "fatal", ...errorFields(e) }));
  process.exit(1);
});

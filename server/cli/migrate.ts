import { openDatabase } from "../db.js";
import { env } from "../env.js";

// `npm run db:migrate`: applies pending migrations to the configured storage and prints which.
try {
  const db = await openDatabase(env(), { migrate: true, viaServerIfHeld: true });
  process.stdout.write(JSON.stringify({ storage: db.kind, applied: db.migrationsApplied }) + "\n");
  await db.close();
} catch (e) {
  console.error(`Migration failed: ${(e as Error).message}`);
  process.exitCode = 1;
}

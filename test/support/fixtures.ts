import { test as base } from "vitest";
import { startTestServer } from "./server.js";
import { createTenant } from "./tenant.js";

/** Env overrides of a test file's server (see startTestServer). */
export type ServerEnv = Record<string, string | undefined>;

/**
 * `test` with a file-scoped server and tenant: `it("…", async ({ server, tenant }) => …)`.
 * Each is created on first use in a file and closed/cleaned up after the file's last test.
 *
 * - Other settings for the file's server: `it.override({ serverEnv: { DELETE_BATCH_SIZE: "3" } })` at the top
 *   level of the file, on the `it` its tests use (an `it.extend(…)` copies the settings it finds, so
 *   override the extended one, or override before extending).
 * - Set-up of a file's own (a seeded collection, a second tenant, helpers bound to the server):
 *   `const it = test.extend("collection", { scope: "file" }, async ({ server, tenant }, { onCleanup }) => …)`.
 *
 * Built with the builder form of `extend` so that a file's own file-scoped fixtures see these in their types.
 */
export const test = base
  .extend("serverEnv", { scope: "file" }, {} as ServerEnv)
  .extend("server", { scope: "file" }, async ({ serverEnv }, { onCleanup }) => {
    const server = await startTestServer(serverEnv);
    onCleanup(() => server.close());
    return server;
  })
  .extend("tenant", { scope: "file" }, async ({ server }, { onCleanup }) => {
    const tenant = await createTenant(server.services);
    onCleanup(() => tenant.cleanup());
    return tenant;
  });

export const it = test;

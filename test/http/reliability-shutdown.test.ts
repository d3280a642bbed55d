import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess } from "../support/process.js";
import { createTestServices, freshDataDir, type TestServices } from "../support/services.js";
import { createTenant, type Tenant } from "../support/tenant.js";
import { sleep } from "../support/sockets.js";

// SIGTERM while writes are in flight: every write the server acknowledged is in the database afterwards.

const dataDir = freshDataDir();
let services: TestServices;
let tenant: Tenant;
let name: string;
beforeAll(async () => {
  // The tenant is made in-process, then the directory (signing key, embedded data) is handed to the server process.
  services = await createTestServices({ DATA_DIR: dataDir });
  tenant = await createTenant(services);
  name = await tenant.collection();
  await services.close();
});
afterAll(async () => {
  // The tenant's own client was closed with its services: clean up through a new one.
  const cleanup = await createTestServices({ DATA_DIR: dataDir });
  const userIds = [...Object.values(tenant.users), tenant.outsider].map((u) => u.id);
  await cleanup.db.prisma.project.deleteMany({ where: { id: tenant.project.id } });
  await cleanup.db.prisma.user.deleteMany({ where: { id: { in: userIds } } });
  await cleanup.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("graceful shutdown under load", () => {
  it("loses no acknowledged write", async () => {
    const server = await startServerProcess({ DATA_DIR: dataDir, SHUTDOWN_TIMEOUT_MS: "10000" });
    const acked: string[] = [];
    const refusedStatuses: number[] = [];
    let stopping = false;
    const writer = async (w: number) => {
      for (let i = 0; ; i++) {
        const keys = Array.from({ length: 20 }, (_, j) => `w${w}-${i}-${j}`);
        try {
          const r = await fetch(`${server.url}/collections/${name}`, {
            method: "POST",
            headers: { ...tenant.users.editor.headers, "content-type": "application/json" },
            body: JSON.stringify(keys.map((key) => ({ key, value: { w, i } }))),
          });
          await r.text();
          if (r.status === 201) acked.push(...keys);
          else refusedStatuses.push(r.status);
        } catch {
          if (stopping) return; // connection refused or reset once the server stops accepting
          throw new Error("a request failed before shutdown");
        }
      }
    };
    const writers = Array.from({ length: 6 }, (_, w) => writer(w));
    await sleep(1500);
    stopping = true;
    const code = server.stop("SIGTERM");
    await Promise.all(writers);
    expect(await code).toBe(0);
    expect(acked.length).toBeGreaterThan(0);
    expect(refusedStatuses.filter((s) => s >= 500)).toEqual([]);
    expect(server.lines.some((l) => (l as { msg?: string }).msg === "stopped")).toBe(true);

    const after = await createTestServices({ DATA_DIR: dataDir });
    try {
      const rows = await after.db.prisma.$queryRaw<{ key: string }[]>`
        SELECT key FROM items WHERE collection_id = (SELECT id FROM collections WHERE project_id = ${tenant.project.id}::uuid AND name = ${name}) AND value IS NOT NULL`;
      const stored = new Set(rows.map((r) => r.key));
      expect(acked.filter((k) => !stored.has(k))).toEqual([]);
    } finally {
      await after.close();
    }
  });
});

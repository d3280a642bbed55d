import { describe, expect } from "vitest";
import { openStreamCount } from "../../server/http/stream-slots.js";
import { test } from "../support/fixtures.js";
import { seed } from "../support/items.js";
import { rawRequest, storedItems } from "../support/raw.js";
import { openSocket, pausedGet, sleep } from "../support/sockets.js";

// A client that goes away mid-stream, mid-upload or mid-delete stops the work and leaves no database
// connection or stream slot behind.

const it = test
  /** `settled()`: waits until the server's pool is idle and no stream is open. */
  .extend("settled", { scope: "file" }, ({ server }) => async (): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      const stats = server.services.db.poolStats();
      const poolIdle = stats === null || (stats.total === stats.idle && stats.waiting === 0);
      if (poolIdle && openStreamCount(server.services) === 0) return;
      await sleep(50);
    }
    throw new Error(
      `not idle: pool ${JSON.stringify(server.services.db.poolStats())}, streams ${openStreamCount(server.services)}`,
    );
  })
  /** `abortedRequests(path)`: the log lines of the requests to `path` that their client aborted. */
  .extend(
    "abortedRequests",
    { scope: "file" },
    ({ server }) =>
      (path: string) =>
        server.services.logs.filter((l) => l.msg === "request" && l.path === path && l.aborted === true),
  );
it.override({ serverEnv: { STREAM_BATCH_SIZE: "20", DELETE_BATCH_SIZE: "10" } });

describe("clients that disconnect", () => {
  it("mid-stream: the request is logged as aborted, the pool returns to idle", async ({
    server,
    tenant,
    settled,
    abortedRequests,
  }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      Array.from({ length: 1500 }, (_, i) => ({ key: `k${i}`, value: "v".repeat(5000) })),
    );
    const stream = await pausedGet(`${server.url}/collections/${name}`, tenant.users.viewer.headers);
    expect(stream.res.statusCode).toBe(200);
    await sleep(200);
    stream.close();
    await settled();
    await sleep(100);
    expect(abortedRequests(`/collections/${name}`)).toHaveLength(1);
    expect(
      (await rawRequest(server, "GET", `/collections/${name}?limit=1`, tenant.users.viewer.headers)).status,
    ).toBe(200);
  });

  it("mid-delete: no further batch is deleted", async ({ server, tenant, settled }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      Array.from({ length: 3000 }, (_, i) => ({ key: `d${i}`, value: i })),
    );
    const del = await new Promise<{ close(): void }>((resolve, reject) => {
      import("node:http").then(({ request }) => {
        const req = request(
          `${server.url}/collections/${name}/d*`,
          { method: "DELETE", headers: tenant.users.owner.headers, agent: false },
          () => resolve({ close: () => req.destroy() }),
        );
        req.on("error", (e) => (req.destroyed ? undefined : reject(e)));
        req.end();
      }, reject);
    });
    del.close(); // right after the status line: the first batch is gone, the rest must stay
    await settled();
    const left = (await storedItems(server, tenant.project.id, name)).length;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(3000);
    await sleep(300);
    expect((await storedItems(server, tenant.project.id, name)).length).toBe(left);
  });

  it("mid-upload: nothing is written, the server keeps serving", async ({ server, tenant, settled }) => {
    const name = await tenant.collection();
    const { socket } = await openSocket(server.url);
    socket.write(
      `POST /collections/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: ${tenant.users.editor.headers.authorization}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[{"key":"half","value":1},`,
    );
    await sleep(200);
    socket.destroy();
    await settled();
    expect(await storedItems(server, tenant.project.id, name)).toEqual([]);
    const r = await rawRequest(
      server,
      "POST",
      `/collections/${name}`,
      { ...tenant.users.editor.headers, "content-type": "application/json" },
      '[{"key":"after","value":1}]',
    );
    expect(r.status).toBe(201);
  });
});

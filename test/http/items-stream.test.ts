import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { failNthItemRead } from "../support/read-failure.js";
import type { TestServer } from "../support/server.js";
import { call, seed } from "../support/items.js";
import { usingPostgresServer } from "../support/env.js";

// The GET stream (SPEC §3.1): batches are written as they are read, with backpressure; a client that
// goes away stops it; a failure after the first byte aborts the transfer.

const COUNT = 3000;
const filler = "x".repeat(2000);

const it = test.extend("collection", { scope: "file" }, async ({ server, tenant }) => {
  const name = await tenant.collection();
  await seed(
    server,
    name,
    tenant.project.id,
    Array.from({ length: COUNT }, (_, i) => ({
      key: `k${String(i).padStart(5, "0")}`,
      value: { i, filler },
    })),
  );
  return name;
});
it.override({ serverEnv: { STREAM_BATCH_SIZE: "50" } });

async function readSome(reader: ReadableStreamDefaultReader<Uint8Array>, atLeast: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  while (text.length < atLeast) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

const connectionsInUse = (server: TestServer) => {
  const stats = server.services.db.poolStats();
  return stats ? stats.total - stats.idle : 0;
};

async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("GET stream", () => {
  it("arrives chunk by chunk: the first results come before the last are read from the database", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const res = await fetch(`${server.url}/collections/${name}`, { headers: tenant.users.viewer.headers });
    expect(res.status).toBe(200);
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    const reader = res.body!.getReader();
    const head = await readSome(reader, 1);
    expect(head.startsWith('{"results":[{"key":"k00000"')).toBe(true);
    expect(head).not.toContain("end_offset");
    // Deleted after the first bytes arrived: a stream that had already read every row would contain it.
    const last = `k${String(COUNT - 1).padStart(5, "0")}`;
    const gone = await call(server, tenant.users.editor, "DELETE", `/collections/${name}/${last}`);
    expect(gone.status).toBe(200);
    // Written after the stream started: not part of this traversal (it would come twice if it were a
    // key the stream had already sent, deleted and written again).
    const late = await call(server, tenant.users.editor, "POST", `/collections/${name}`, [
      { key: "late", value: 1 },
    ]);
    expect(late.status).toBe(201);
    // Already sent, then deleted and written again (a new sequence number): still once in this answer.
    expect(
      (await call(server, tenant.users.editor, "DELETE", `/collections/${name}/k00000`)).body.deleted,
    ).toBe(1);
    expect(
      (
        await call(server, tenant.users.editor, "POST", `/collections/${name}`, [
          { key: "k00000", value: { i: 0, filler } },
        ])
      ).status,
    ).toBe(201);
    const rest = head + (await readSome(reader, Infinity));
    const body = JSON.parse(rest);
    expect(body.results.filter((r: { key: string }) => r.key === "k00000")).toHaveLength(1);
    expect(body.results).toHaveLength(COUNT - 1);
    expect(body.results.map((r: { key: string }) => r.key)).not.toContain(last);
    expect(body.results.map((r: { key: string }) => r.key)).not.toContain("late");
    expect(body.end_offset).toBe(COUNT - 1);
    await call(server, tenant.users.editor, "DELETE", `/collections/${name}/late`);
    const back = await call(server, tenant.users.editor, "POST", `/collections/${name}`, [
      { key: last, value: { i: COUNT - 1, filler } },
    ]);
    expect(back.status).toBe(201);
  });

  it("a client abort mid-stream leaves the server healthy and releases its database connection", async ({
    server,
    tenant,
    collection: name,
  }) => {
    for (let round = 0; round < 3; round++) {
      const controller = new AbortController();
      const res = await fetch(`${server.url}/collections/${name}`, {
        headers: tenant.users.viewer.headers,
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      await readSome(reader, 10_000);
      controller.abort();
    }
    await eventually(
      () => server.services.logs.filter((l) => l.msg === "request" && l.aborted === true).length >= 3,
    );
    if (usingPostgresServer()) await eventually(() => connectionsInUse(server) === 0);
    expect((await call(server, undefined, "GET", "/health")).status).toBe(200);
    const after = await call(server, tenant.users.viewer, "GET", `/collections/${name}?limit=2`);
    expect(after.body.results).toHaveLength(2);
    expect(server.services.logs.filter((l) => l.level === "error")).toEqual([]);
  });

  it("a failure after the first byte aborts the transfer instead of ending valid JSON, and is logged", async ({
    server,
    tenant,
    collection: name,
  }) => {
    // Fail the second read of items, after the first batch has been sent.
    const failing = failNthItemRead(server.services.db.sql, 2);
    try {
      const res = await fetch(`${server.url}/collections/${name}`, { headers: tenant.users.viewer.headers });
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow();
    } finally {
      failing.restore();
    }
    expect(failing.reads()).toBe(2);
    expect(server.services.logs.some((l) => l.level === "error" && String(l.msg).includes("aborting"))).toBe(
      true,
    );
    expect((await call(server, tenant.users.viewer, "GET", `/collections/${name}?limit=1`)).status).toBe(200);
  });
});

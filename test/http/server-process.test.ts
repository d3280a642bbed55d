import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { freshDataDir } from "../support/services.js";
import { runCli, runServerToExit, startServerProcess } from "../support/process.js";
import { testEnv } from "../support/env.js";

// `npm start` as a process: boot, logs, the embedded directory lock, the CLI beside a running server,
// persistence across restarts and graceful shutdown.

const dataDir = freshDataDir();
const embedded = !testEnv().DATABASE_URL;
const tag = randomUUID().slice(0, 8);

afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  const url = testEnv().DATABASE_URL;
  if (!url) return;
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  await pool.query("DELETE FROM users WHERE email LIKE $1", [`%-${tag}@test.local`]);
  await pool.end();
});

describe("the server process", () => {
  it("serves /health, logs one JSON line per request, and keeps data across a restart", async () => {
    const server = await startServerProcess({ DATA_DIR: dataDir });
    try {
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok", database: embedded ? "embedded" : "postgres" });

      const created = await runCli(["user:create", "--email", `persist-${tag}@test.local`], {
        DATA_DIR: dataDir,
      });
      expect(created.code).toBe(0);
      // stderr: the storage it opened (embedded: through this server's socket), then only the audit line
      const [note, ...rest] = created.stderr.trim().split("\n");
      expect(note).toMatch(
        embedded
          ? /^collections-admin: storage embedded .* \(through the socket of the server holding it, process \d+\)$/
          : /^collections-admin: storage postgresql /,
      );
      expect(rest.map((l) => (JSON.parse(l) as { action?: string }).action)).toEqual(["user.create"]);

      await new Promise((r) => setTimeout(r, 100));
      const requestLine = server.lines.find((l) => (l as { msg?: string }).msg === "request") as Record<
        string,
        unknown
      >;
      expect(requestLine).toMatchObject({ level: "info", method: "GET", path: "/health", status: 200 });
      expect(typeof requestLine.duration_ms).toBe("number");
      expect(JSON.stringify(server.lines)).not.toMatch(/Bearer/);
    } finally {
      expect(await server.stop()).toBe(0);
    }

    const again = await startServerProcess({ DATA_DIR: dataDir });
    try {
      const dup = await runCli(["user:create", "--email", `persist-${tag}@test.local`], {
        DATA_DIR: dataDir,
      });
      expect(dup.code).toBe(1);
      expect(dup.stderr).toMatch(/already exists/);
    } finally {
      await again.stop();
    }
  });

  it.runIf(embedded)("refuses a second server on the same DATA_DIR with a clear message", async () => {
    const server = await startServerProcess({ DATA_DIR: dataDir });
    try {
      const second = await runServerToExit({ DATA_DIR: dataDir });
      expect(second.code).toBe(3);
      expect(second.stderr).toMatch(/in use by process \d+/);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it("stops on a bad configuration, listing the problems", async () => {
    const r = await runServerToExit({ DATA_DIR: dataDir, PORT: "-1", LOG_LEVEL: "loud" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/PORT/);
    expect(r.stderr).toMatch(/LOG_LEVEL/);
  });

  it("on SIGTERM stops accepting, finishes the request in flight, closes the database and exits 0", async () => {
    const server = await startServerProcess({ DATA_DIR: dataDir });
    const { hostname, port } = new URL(server.url);
    // A request whose body is still arriving when SIGTERM lands.
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: hostname,
          port,
          method: "POST",
          path: "/no-such-route",
          headers: { "content-type": "application/json" },
        },
        (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on("error", reject);
      req.write('{"partial":');
      setTimeout(() => {
        void server.stop();
        setTimeout(() => req.end("true}"), 300);
      }, 200);
    });
    const answered = await inFlight;
    expect(answered.status).toBe(404);
    expect(JSON.parse(answered.body)).toMatchObject({ code: "NOT_FOUND" });
    expect(await server.exited).toBe(0);
    const messages = server.lines.map((l) => (l as { msg?: string }).msg);
    expect(messages).toContain("shutting down");
    expect(messages.at(-1)).toBe("stopped");
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});

import { request } from "node:http";
import { createTRPCClient, httpBatchStreamLink, TRPCClientError } from "@trpc/client";
import { describe, expect } from "vitest";
import type { AppRouter } from "../../server/router.js";
import { openStreamCount } from "../../server/http/stream-slots.js";
import { test } from "../support/fixtures.js";
import { seed } from "../support/items.js";
import { rawRequest } from "../support/raw.js";
import { startTestServer } from "../support/server.js";
import { drain, openSocket, pausedGet, sleep } from "../support/sockets.js";
import { createTenant } from "../support/tenant.js";

// SPEC §6 limits that are not about a body's content: timeouts, body size while streaming, streams
// per token, rate limiting.

/** A collection of 1,500 items of 10 kB each. */
const it = test.extend("collection", { scope: "file" }, async ({ server, tenant }) => {
  const name = await tenant.collection();
  await seed(
    server,
    name,
    tenant.project.id,
    Array.from({ length: 1500 }, (_, i) => ({ key: `k${i}`, value: { pad: "p".repeat(10_000) } })),
  );
  return name;
});
it.override({
  serverEnv: {
    MAX_BODY_BYTES: "4096",
    HEADERS_TIMEOUT_MS: "400",
    REQUEST_TIMEOUT_MS: "800",
    MAX_STREAMS_PER_TOKEN: "2",
    STREAM_BATCH_SIZE: "50",
  },
});

describe("request body size (MAX_BODY_BYTES)", () => {
  it("413 while the body streams in, before it is all sent, and the connection closes", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const { hostname, port } = new URL(server.url);
    let sent = 0;
    const answer = await new Promise<{ status: number; body: string; connection: string | undefined }>(
      (resolve, reject) => {
        const req = request(
          {
            hostname,
            port,
            method: "POST",
            path: `/collections/${name}`,
            agent: false,
            headers: { ...tenant.users.editor.headers, "content-type": "application/json" },
          },
          (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () =>
              resolve({ status: res.statusCode!, body, connection: res.headers.connection }),
            );
          },
        );
        req.on("error", reject);
        req.write("[");
        const chunk = JSON.stringify({ key: "k", value: "x".repeat(1000) }) + ",";
        const pump = () => {
          // An endless body: the server must answer without waiting for its end.
          while (sent < 10_000_000 && req.write(chunk)) sent += chunk.length;
          if (sent < 10_000_000 && !req.destroyed) req.once("drain", pump);
        };
        pump();
      },
    );
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).message).toMatch(/MAX_BODY_BYTES/);
    expect(answer.connection).toBe("close");
    expect(sent).toBeLessThan(10_000_000);
  });

  it("413 from the declared Content-Length alone, with Connection: close", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const { socket, closed } = await openSocket(server.url);
    socket.write(
      `POST /collections/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: ${tenant.users.editor.headers.authorization}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[`,
    );
    const text = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text.toLowerCase()).toContain("connection: close");
    expect(text).toContain("MAX_BODY_BYTES");
  });
});

describe("timeouts (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS)", () => {
  it("408 naming the limits when the headers do not arrive in time", async ({ server }) => {
    const { socket, closed } = await openSocket(server.url);
    socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
    const started = Date.now();
    const text = await closed;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4))).toEqual({
      code: "TIMEOUT",
      message: expect.stringMatching(/HEADERS_TIMEOUT_MS.*REQUEST_TIMEOUT_MS/),
    });
  });

  it("408 when the body stalls, and nothing is written", async ({ server, tenant, collection: name }) => {
    const { socket, closed } = await openSocket(server.url);
    socket.write(
      `POST /collections/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: ${tenant.users.editor.headers.authorization}\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n[{"key":"stalled",`,
    );
    const text = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain("REQUEST_TIMEOUT_MS");
    const r = await rawRequest(server, "GET", `/collections/${name}/stalled`, tenant.users.viewer.headers);
    expect(r.body.results).toEqual([]);
  });

  it("a slow but steady response is not cut by the request timeout", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const stream = await pausedGet(`${server.url}/collections/${name}`, tenant.users.viewer.headers);
    await sleep(1200); // past REQUEST_TIMEOUT_MS, with the response half sent
    const { text, complete } = await drain(stream.res);
    expect(complete).toBe(true);
    expect(JSON.parse(text).results).toHaveLength(1500);
  });
});

describe("concurrent streams per token (MAX_STREAMS_PER_TOKEN)", () => {
  it("429 naming the limit for a third open stream of one token; other tokens are not affected; slots come back", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const path = `${server.url}/collections/${name}`;
    const a = await pausedGet(path, tenant.users.viewer.headers);
    const b = await pausedGet(
      `${server.url}/lightning/collections/${name}?limit=1500`,
      tenant.users.viewer.headers,
    );
    expect([a.res.statusCode, b.res.statusCode]).toEqual([200, 200]);

    const third = await rawRequest(server, "GET", `/collections/${name}`, tenant.users.viewer.headers);
    expect(third.status).toBe(429);
    expect(third.body).toEqual({
      code: "TOO_MANY_REQUESTS",
      message: expect.stringMatching(/MAX_STREAMS_PER_TOKEN/),
    });
    expect(third.headers.get("retry-after")).toBe("1");
    const lightning = await rawRequest(
      server,
      "DELETE",
      `/lightning/collections/${name}?key=none`,
      tenant.users.viewer.headers,
    );
    expect(lightning.status).toBe(429);
    expect(lightning.body).toEqual({ error: expect.stringMatching(/MAX_STREAMS_PER_TOKEN/) });

    const trpc = createTRPCClient<AppRouter>({
      links: [httpBatchStreamLink({ url: `${server.url}/trpc`, headers: tenant.users.viewer.headers })],
    });
    let refused: unknown = null;
    try {
      for await (const event of await trpc.items.stream.query({ name, limit: 1 })) void event;
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<AppRouter>).data?.code).toBe("TOO_MANY_REQUESTS");

    const other = await rawRequest(
      server,
      "GET",
      `/collections/${name}?limit=1`,
      tenant.users.editor.headers,
    );
    expect(other.status).toBe(200);

    a.close();
    await drain(b.res);
    for (let i = 0; i < 50 && openStreamCount(server.services) > 0; i++) await sleep(20);
    expect(openStreamCount(server.services)).toBe(0);
    const again = await rawRequest(
      server,
      "GET",
      `/collections/${name}?limit=1`,
      tenant.users.viewer.headers,
    );
    expect(again.status).toBe(200);
  });
});

describe("rate limiting (RATE_LIMIT_PER_MINUTE)", () => {
  it("is off by default: no RateLimit headers", async ({ server, tenant }) => {
    const r = await rawRequest(server, "GET", "/collections", tenant.users.viewer.headers);
    expect(r.status).toBe(200);
    expect(r.headers.get("ratelimit-limit")).toBeNull();
  });

  // The bucket itself is tested in test/unit/rate-limit.test.ts.

  it("429 with Retry-After and RateLimit headers on every surface, per token", async () => {
    const limited = await startTestServer({ RATE_LIMIT_PER_MINUTE: "3" });
    const t = await createTenant(limited.services);
    try {
      const c = await t.collection();
      const seen: (string | null)[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await rawRequest(limited, "GET", `/collections/${c}`, t.users.viewer.headers);
        expect(r.status).toBe(200);
        expect(r.headers.get("ratelimit-limit")).toBe("3");
        seen.push(r.headers.get("ratelimit-remaining"));
      }
      expect(seen).toEqual(["2", "1", "0"]);

      const rest = await rawRequest(limited, "GET", `/collections/${c}`, t.users.viewer.headers);
      expect(rest.status).toBe(429);
      expect(rest.body).toEqual({
        code: "TOO_MANY_REQUESTS",
        message: expect.stringMatching(/RATE_LIMIT_PER_MINUTE/),
      });
      expect(Number(rest.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(rest.headers.get("ratelimit-remaining")).toBe("0");
      expect(Number(rest.headers.get("ratelimit-reset"))).toBeGreaterThan(0);

      const viaOpenApi = await rawRequest(limited, "GET", "/collections", t.users.viewer.headers);
      expect(viaOpenApi.status).toBe(429);
      const lightning = await rawRequest(
        limited,
        "GET",
        `/lightning/collections/${c}`,
        t.users.viewer.headers,
      );
      expect(lightning.status).toBe(429);
      expect(lightning.body).toEqual({ error: expect.stringMatching(/RATE_LIMIT_PER_MINUTE/) });
      const trpcAnswer = await fetch(`${limited.url}/trpc/collections.list`, {
        headers: t.users.viewer.headers,
      });
      expect(trpcAnswer.status).toBe(429);
      expect(trpcAnswer.headers.get("retry-after")).not.toBeNull();
      expect(((await trpcAnswer.json()) as { error: { data: { code: string } } }).error.data.code).toBe(
        "TOO_MANY_REQUESTS",
      );

      // Another token has its own bucket; requests without a token are not counted (and get 401).
      expect((await rawRequest(limited, "GET", `/collections/${c}`, t.users.editor.headers)).status).toBe(
        200,
      );
      expect((await rawRequest(limited, "GET", `/collections/${c}`)).status).toBe(401);
      expect((await rawRequest(limited, "GET", "/health")).status).toBe(200);
    } finally {
      await t.cleanup();
      await limited.close();
    }
  });
});

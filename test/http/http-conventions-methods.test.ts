import { describe, expect, vi } from "vitest";
import { test } from "../support/fixtures.js";
import { seed } from "../support/items.js";
import { rawRequest, type RawAnswer } from "../support/raw.js";
import type { TestServer } from "../support/server.js";

// SPEC §8.1: a known path with another method is 405 with Allow (on every surface, in its own error
// body); HEAD wherever GET is (a HEAD of a stream reads nothing); OPTIONS names the methods; 401 carries
// WWW-Authenticate, with error="invalid_token" when a token was sent.

const it = test.extend("collection", { scope: "file" }, async ({ server, tenant }) => {
  const name = await tenant.collection();
  await seed(
    server,
    name,
    tenant.project.id,
    Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: { i } })),
  );
  return name;
});
it.override({ serverEnv: { STREAM_BATCH_SIZE: "5" } });

const itemsRead = async (server: TestServer) => {
  const text = (await rawRequest(server, "GET", "/metrics")).text;
  return Number(/^collections_items_read_total (\d+)/m.exec(text)?.[1]);
};

/** Headers that describe the representation (what HEAD must share with GET), without the per-request ones. */
function representation(r: RawAnswer, withLength: boolean): Record<string, string> {
  const skip = new Set([
    "date",
    "x-request-id",
    "connection",
    "keep-alive",
    "ratelimit-remaining",
    "ratelimit-reset",
    "transfer-encoding",
    ...(withLength ? [] : ["content-length"]),
  ]);
  return Object.fromEntries([...r.headers].filter(([k]) => !skip.has(k)));
}

describe("405 with Allow (SPEC §8.1)", () => {
  it.for([
    ["DELETE", "/collections", "GET, HEAD, OPTIONS"],
    ["PUT", "/tokens", "GET, HEAD, POST, OPTIONS"],
    ["GET", "/tokens/0b7c8e43-5c5b-4c43-8a55-4d7a4c1b2a10", "DELETE, OPTIONS"],
    ["POST", "/health", "GET, HEAD, OPTIONS"],
    ["POST", "/openapi.json", "GET, HEAD, OPTIONS"],
    ["DELETE", "/docs", "GET, HEAD, OPTIONS"],
    ["PUT", "/metrics", "GET, HEAD, OPTIONS"],
  ] as const)("%s %s: 405 with Allow: %s and the error body", async ([method, path, allow], { server }) => {
    const r = await rawRequest(server, method, path);
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe(allow);
    expect(r.body).toEqual({
      code: "METHOD_NOT_SUPPORTED",
      message: `Method ${method} is not allowed on ${path.startsWith("/tokens/") ? "/tokens/{id}" : path}; allowed: ${allow}`,
    });
  });

  it("on the item routes, before any authentication or body is read", async ({ server, collection }) => {
    const patch = await rawRequest(
      server,
      "PATCH",
      `/collections/${collection}`,
      { "content-type": "application/json" },
      "[]",
    );
    expect(patch.status).toBe(405);
    expect(patch.headers.get("allow")).toBe("GET, HEAD, POST, DELETE, OPTIONS");
    expect(patch.body.code).toBe("METHOD_NOT_SUPPORTED");
    const patchKey = await rawRequest(server, "PATCH", `/collections/${collection}/a/b`, {}, "1");
    expect(patchKey.status).toBe(405);
    expect(patchKey.headers.get("allow")).toBe("GET, HEAD, PUT, DELETE, OPTIONS");
  });

  it("on the Lightning dialect, in its own error body", async ({ server, collection, tenant }) => {
    const r = await rawRequest(
      server,
      "PATCH",
      `/lightning/collections/${collection}`,
      tenant.users.owner.headers,
    );
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("GET, HEAD, POST, DELETE, OPTIONS");
    expect(r.body).toEqual({ error: "Method Not Allowed" });
    const one = await rawRequest(server, "POST", `/lightning/collections/${collection}/k1`);
    expect(one.status).toBe(405);
    expect(one.headers.get("allow")).toBe("GET, HEAD, PUT, DELETE, OPTIONS");
  });

  it("on tRPC: a mutation's GET and a query's POST (tRPC's envelope), and other methods", async ({
    server,
    tenant,
  }) => {
    const auth = tenant.users.owner.headers;
    const get = await rawRequest(server, "GET", "/trpc/collections.create", auth);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST, OPTIONS");
    expect(get.body.error.data).toMatchObject({ code: "METHOD_NOT_SUPPORTED", httpStatus: 405 });
    const post = await rawRequest(
      server,
      "POST",
      "/trpc/collections.list",
      { ...auth, "content-type": "application/json" },
      "{}",
    );
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
    const put = await rawRequest(server, "PUT", "/trpc/collections.list", auth);
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
  });

  it("an unknown path stays 404", async ({ server }) => {
    for (const [method, path] of [
      ["PATCH", "/nope"],
      ["GET", "/projects/x"],
      ["DELETE", "/lightning/elsewhere"],
    ] as const) {
      expect((await rawRequest(server, method, path)).status, `${method} ${path}`).toBe(404);
    }
  });
});

describe("OPTIONS", () => {
  it("answers 204 with the path's methods, without authentication", async ({ server, collection }) => {
    const r = await rawRequest(server, "OPTIONS", `/collections/${collection}/k1`);
    expect(r.status).toBe(204);
    expect(r.headers.get("allow")).toBe("GET, HEAD, PUT, DELETE, OPTIONS");
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
    expect((await rawRequest(server, "OPTIONS", "/trpc/collections.create")).headers.get("allow")).toBe(
      "POST, OPTIONS",
    );
  });
});

describe("HEAD wherever GET is (SPEC §8.1)", () => {
  it.for(["/health", "/openapi.json", "/docs", "/docs/swagger-ui.css", "/metrics"])(
    "HEAD %s: GET's status and headers, no body",
    async (path, { server }) => {
      const get = await rawRequest(server, "GET", path);
      const head = await rawRequest(server, "HEAD", path);
      expect(head.status).toBe(get.status);
      expect(head.text).toBe("");
      const stable =
        path === "/metrics"
          ? ["content-type", "cache-control"]
          : [...get.headers.keys()].filter(
              (k) => !["date", "x-request-id", "connection", "keep-alive"].includes(k),
            );
      for (const name of stable)
        expect(head.headers.get(name), `${path} ${name}`).toBe(get.headers.get(name));
    },
  );

  it("HEAD of an authenticated REST read (trpc-to-openapi): same headers as GET, no body", async ({
    server,
    tenant,
  }) => {
    const auth = tenant.users.owner.headers;
    const get = await rawRequest(server, "GET", "/collections", auth);
    const head = await rawRequest(server, "HEAD", "/collections", auth);
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect(representation(head, true)).toEqual(representation(get, true));
    expect((await rawRequest(server, "HEAD", "/collections")).status).toBe(401);
  });

  it("HEAD of a streamed item read: GET's status and headers, no body, and no item read", async ({
    server,
    tenant,
    collection,
  }) => {
    const auth = tenant.users.owner.headers;
    const get = await rawRequest(server, "GET", `/collections/${collection}`, auth);
    expect(get.body.results).toHaveLength(30);
    const before = await itemsRead(server);
    const head = await rawRequest(server, "HEAD", `/collections/${collection}`, auth);
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect(representation(head, false)).toEqual(representation(get, false));
    const lightningHead = await rawRequest(server, "HEAD", `/lightning/collections/${collection}`, auth);
    expect(lightningHead.status).toBe(200);
    expect(lightningHead.text).toBe("");
    expect(await itemsRead(server)).toBe(before);
    // Its checks are GET's: a missing collection, a bad parameter, no token.
    expect((await rawRequest(server, "HEAD", `/collections/missing-${collection}`, auth)).status).toBe(404);
    expect((await rawRequest(server, "HEAD", `/collections/${collection}?limit=x`, auth)).status).toBe(400);
    expect((await rawRequest(server, "HEAD", `/collections/${collection}`)).status).toBe(401);
  });

  it("HEAD of a Lightning item: GET's headers including the length; 204 for a missing key", async ({
    server,
    tenant,
    collection,
  }) => {
    const auth = tenant.users.owner.headers;
    const get = await rawRequest(server, "GET", `/lightning/collections/${collection}/k3`, auth);
    const head = await rawRequest(server, "HEAD", `/lightning/collections/${collection}/k3`, auth);
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect(representation(head, true)).toEqual(representation(get, true));
    expect((await rawRequest(server, "HEAD", `/lightning/collections/${collection}/nope`, auth)).status).toBe(
      204,
    );
  });

  it("HEAD of a tRPC query: its status, no body; a streamed query stops at once", async ({
    server,
    tenant,
    collection,
  }) => {
    const auth = tenant.users.owner.headers;
    const input = encodeURIComponent(JSON.stringify({ 0: { name: collection } }));
    const head = await rawRequest(
      server,
      "HEAD",
      `/trpc/collections.list?input=${encodeURIComponent("{}")}`,
      auth,
    );
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    const before = await itemsRead(server);
    const stream = await rawRequest(server, "HEAD", `/trpc/items.stream?batch=1&input=${input}`, {
      ...auth,
      "trpc-accept": "application/jsonl",
    });
    expect(stream.status).toBe(200);
    expect(stream.text).toBe("");
    // At most the first batch (STREAM_BATCH_SIZE 5) of the 30 items.
    await vi.waitFor(async () => expect((await itemsRead(server)) - before).toBeLessThanOrEqual(5));
  });
});

describe("WWW-Authenticate on 401 (SPEC §8.1)", () => {
  it("names the Bearer scheme, and invalid_token when a token was sent, on every surface", async ({
    server,
    collection,
  }) => {
    const paths: [string, string][] = [
      ["GET", "/collections"],
      ["GET", `/collections/${collection}`],
      ["GET", `/lightning/collections/${collection}`],
      ["GET", "/trpc/collections.list"],
      ["POST", "/tokens"],
    ];
    const json = { "content-type": "application/json" };
    for (const [method, path] of paths) {
      const none = await rawRequest(
        server,
        method,
        path,
        method === "POST" ? json : {},
        method === "POST" ? "{}" : undefined,
      );
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(none.headers.get("www-authenticate"), `${method} ${path}`).toBe('Bearer realm="collections"');
      const bad = await rawRequest(
        server,
        method,
        path,
        { authorization: "Bearer not-a-token", ...(method === "POST" ? json : {}) },
        method === "POST" ? "{}" : undefined,
      );
      expect(bad.status, `${method} ${path}`).toBe(401);
      expect(bad.headers.get("www-authenticate"), `${method} ${path}`).toBe(
        'Bearer realm="collections", error="invalid_token"',
      );
    }
  });

  it("no challenge on other answers", async ({ server, tenant }) => {
    const r = await rawRequest(server, "GET", "/collections", tenant.users.owner.headers);
    expect(r.status).toBe(200);
    expect(r.headers.get("www-authenticate")).toBeNull();
  });
});

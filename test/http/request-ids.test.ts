import { describe, expect, vi } from "vitest";
import { test } from "../support/fixtures.js";
import { rawRequest } from "../support/raw.js";
import type { TestServer } from "../support/server.js";

// SPEC §8.1: every log line of a request carries one request id (a well-formed X-Request-Id or a
// generated UUID, echoed in the answer), the trace id of a valid traceparent, and the caller.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

const it = test.extend("collection", { scope: "file" }, async ({ tenant }) => tenant.collection());

type Line = Record<string, unknown>;

/** The log lines of the request whose answer carried `id` (the request line comes once the answer closed). */
async function linesOf(server: TestServer, id: string, what = "request"): Promise<Line[]> {
  return vi.waitFor(() => {
    const lines = server.services.logs.filter((l) => l.request_id === id);
    if (!lines.some((l) => l.msg === what)) throw new Error(`no ${what} line for ${id} yet`);
    return lines;
  });
}

const requestLine = async (server: TestServer, id: string) =>
  (await linesOf(server, id)).find((l) => l.msg === "request")!;

describe("request ids (SPEC §8.1)", () => {
  it("takes a well-formed X-Request-Id, echoes it and logs it with the caller, the route template and the sizes", async ({
    server,
    tenant,
    collection,
  }) => {
    const owner = tenant.users.owner;
    const r = await rawRequest(server, "GET", `/collections/${collection}`, {
      ...owner.headers,
      "x-request-id": "req-42.a:b/c+d=e@f~g_h",
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-request-id")).toBe("req-42.a:b/c+d=e@f~g_h");
    const line = await requestLine(server, "req-42.a:b/c+d=e@f~g_h");
    const tokenId = (await server.services.auth.authenticate(owner.headers.authorization)) as {
      tokenId: string;
    };
    expect(line).toMatchObject({
      level: "info",
      method: "GET",
      route: "/collections/{name}",
      status: 200,
      user_id: owner.id,
      token_id: tokenId.tokenId,
      duration_ms: expect.any(Number),
      bytes_out: expect.any(Number),
    });
    expect(line.bytes_out as number).toBeGreaterThan(r.text.length);
    expect(line).not.toHaveProperty("trace_id");
    expect(JSON.stringify(server.services.logs)).not.toContain(owner.token);
  });

  it.for([
    ["absent", undefined],
    ["too long (129 characters)", "a".repeat(129)],
    ["with a space", "a b"],
    ["with a quote", 'a"b'],
    ["empty", ""],
    ["with a comma", "a,b"],
  ] as const)("generates a UUID when X-Request-Id is %s", async ([_what, given], { server }) => {
    const r = await rawRequest(
      server,
      "GET",
      "/health",
      given === undefined ? {} : { "x-request-id": given },
    );
    const id = r.headers.get("x-request-id")!;
    expect(id).toMatch(UUID);
    expect(await requestLine(server, id)).toMatchObject({ route: "/health", status: 200 });
  });

  it("logs trace_id from a valid traceparent and ignores an invalid one", async ({ server }) => {
    const valid = await rawRequest(server, "GET", "/health", {
      traceparent: `00-${TRACE}-00f067aa0ba902b7-01`,
    });
    expect(await requestLine(server, valid.headers.get("x-request-id")!)).toMatchObject({ trace_id: TRACE });
    for (const bad of [
      `00-${"0".repeat(32)}-00f067aa0ba902b7-01`,
      `ff-${TRACE}-00f067aa0ba902b7-01`,
      `00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`,
      "garbage",
      `00-${TRACE}-00f067aa0ba902b7-01-extra`,
    ]) {
      const r = await rawRequest(server, "GET", "/health", { traceparent: bad });
      expect(await requestLine(server, r.headers.get("x-request-id")!), bad).not.toHaveProperty("trace_id");
    }
  });

  it("echoes the id on every kind of answer: errors, 404, 405, 401, raw streams, tRPC, Lightning, the documents", async ({
    server,
    tenant,
    collection,
  }) => {
    const auth = tenant.users.owner.headers;
    const cases: [string, string, Record<string, string>][] = [
      ["GET", "/nope", {}],
      ["PATCH", "/collections", auth],
      ["GET", `/collections/${collection}`, {}],
      ["GET", `/collections/${collection}?limit=x`, auth],
      ["GET", `/collections/${collection}/k*`, auth],
      ["DELETE", `/collections/${collection}/none*`, auth],
      ["GET", `/trpc/collections.list`, auth],
      ["GET", `/trpc/collections.list`, {}],
      ["GET", `/lightning/collections/${collection}`, auth],
      ["GET", `/lightning/collections/${collection}/missing`, auth],
      ["GET", `/lightning/collections/nope-${collection}`, auth],
      ["GET", "/openapi.json", {}],
      ["GET", "/docs", {}],
      ["GET", "/metrics", {}],
      ["OPTIONS", "/collections", {}],
      ["HEAD", `/collections/${collection}`, auth],
    ];
    for (const [i, [method, path, headers]] of cases.entries()) {
      const id = `echo-${i}`;
      const r = await rawRequest(server, method, path, { ...headers, "x-request-id": id });
      expect(r.headers.get("x-request-id"), `${method} ${path} (${r.status})`).toBe(id);
      expect((await requestLine(server, id)).status, `${method} ${path}`).toBe(r.status);
    }
  });

  it("names a run token's caller by its run id, and the tRPC procedure as the route", async ({
    server,
    tenant,
  }) => {
    const { token, runId } = await server.services.auth.createRunToken({ projectId: tenant.project.id });
    const r = await rawRequest(server, "GET", "/trpc/collections.list", {
      authorization: `Bearer ${token}`,
      "x-request-id": "run-caller",
    });
    expect(r.status).toBe(200);
    const line = await requestLine(server, "run-caller");
    expect(line).toMatchObject({
      run_id: runId,
      project_id: tenant.project.id,
      route: "/trpc/collections.list",
      status: 200,
    });
    expect(line).not.toHaveProperty("user_id");
    expect(JSON.stringify(line)).not.toContain(token);
  });

  it("puts the request id on a request's other lines too (a rejected Lightning call's debug line)", async ({
    server,
    collection,
  }) => {
    await rawRequest(server, "GET", `/lightning/collections/${collection}`, {
      authorization: "Bearer nope",
      "x-request-id": "other-lines",
    });
    const lines = await linesOf(server, "other-lines");
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(["lightning request rejected", "request"]),
    );
    expect(lines.find((l) => l.msg === "request")).toMatchObject({ status: 401 });
    expect(lines.find((l) => l.msg === "request")).not.toHaveProperty("user_id");
  });
});

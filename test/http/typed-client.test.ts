import {
  createCollectionsClient,
  isCollectionsClientError,
  type UpsertItem,
} from "collections-service/client";
import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { rawRequest } from "../support/raw.js";

// The package's client factory (`collections-service/client`, dist/client/index.js as built) against a
// running server (SPEC §4): one call, concurrent calls batched into one request, the streamed procedure
// read as it arrives, inputs that may be omitted, and errors with their typed code and issues.

interface Sent {
  url: URL;
  headers: Headers;
}

/** A fetch that records what the client sends. */
function recordingFetch(): { fetch: typeof fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    fetch: (input, init) => {
      sent.push({ url: new URL(String(input)), headers: new Headers(init?.headers) });
      return fetch(input, init);
    },
  };
}

/** The procedures of a tRPC request, in order (`/trpc/a,b` calls a and b). */
const proceduresOf = (s: Sent) => decodeURIComponent(s.url.pathname.slice("/trpc/".length)).split(",");

const it = test.extend("written", { scope: "file" }, async ({ server, tenant }) => {
  const name = await tenant.collection();
  const items: UpsertItem[] = Array.from({ length: 250 }, (_, i) => ({
    key: `k${String(i).padStart(3, "0")}`,
    value: { i },
  }));
  const editor = createCollectionsClient({ url: server.url, token: tenant.users.editor.token });
  const result = await editor.items.upsert.mutate({ name, items });
  return { name, items, result };
});
it.override({ serverEnv: { STREAM_BATCH_SIZE: "100" } });

describe("createCollectionsClient against a running server", () => {
  it("a call, with the token given once", async ({ written: { items, result } }) => {
    expect(result).toEqual({ upserted: items.length, errors: [] });
  });

  it("concurrent calls go in one request, with the Authorization header of getToken", async ({
    server,
    tenant,
    written: { name },
  }) => {
    const recorder = recordingFetch();
    let asked = 0;
    const client = createCollectionsClient({
      url: `${server.url}/`,
      getToken: async () => (asked++, tenant.users.viewer.token),
      fetch: recorder.fetch,
    });
    const [page, list] = await Promise.all([
      client.items.get.query({ name, limit: 2 }),
      client.collections.list.query(),
    ]);
    expect(page.results.map((r) => r.key)).toEqual(["k000", "k001"]);
    expect(typeof page.cursor).toBe("string");
    expect(list.results.find((c) => c.name === name)?.items).toBe(250);
    expect(recorder.sent).toHaveLength(1);
    expect(proceduresOf(recorder.sent[0]!)).toEqual(["items.get", "collections.list"]);
    expect(recorder.sent[0]!.headers.get("authorization")).toBe(`Bearer ${tenant.users.viewer.token}`);
    expect(asked).toBe(1);
  });

  it("items.stream is an async iterable of the batches, sent through the streaming link", async ({
    server,
    tenant,
    written: { name, items },
  }) => {
    const recorder = recordingFetch();
    const client = createCollectionsClient({
      url: server.url,
      token: tenant.users.viewer.token,
      fetch: recorder.fetch,
    });
    const keys: string[] = [];
    let batches = 0;
    let end: { end_offset: number; cursor: string | null } | undefined;
    for await (const event of await client.items.stream.query({ name })) {
      if (event.type === "items") {
        batches++;
        keys.push(...event.results.map((r) => r.key));
      } else {
        end = { end_offset: event.end_offset, cursor: event.cursor };
      }
    }
    expect(keys).toEqual(items.map((i) => i.key));
    expect(batches).toBe(3);
    expect(end).toEqual({ end_offset: 250, cursor: null });
    expect(recorder.sent).toHaveLength(1);
    expect(proceduresOf(recorder.sent[0]!)).toEqual(["items.stream"]);
    expect(recorder.sent[0]!.headers.get("trpc-accept")).toBe("application/jsonl");
  });

  it("inputs with no required field may be omitted", async ({ server, tenant }) => {
    const client = createCollectionsClient({ url: server.url, token: tenant.users.owner.token });
    expect((await client.system.health.query()).status).toBe("ok");
    const created = await client.tokens.create.mutate();
    expect(created).toMatchObject({ label: "", scope: "write" });
    expect((await client.tokens.list.query()).results.map((t) => t.id)).toContain(created.id);
    // and on REST, every field of POST /tokens
    const rest = await rawRequest(
      server,
      "POST",
      "/tokens",
      { ...tenant.users.owner.headers, "content-type": "application/json" },
      "{}",
    );
    expect(rest.status, rest.text).toBe(200);
    expect(rest.body).toMatchObject({ label: "", scope: "write" });
  });

  it("errors carry the typed code, status and issues; in a batch, only the failing call fails", async ({
    server,
    tenant,
    written: { name },
  }) => {
    const viewer = createCollectionsClient({ url: server.url, token: tenant.users.viewer.token });
    const [bad, good] = await Promise.allSettled([
      viewer.items.get.query({ name, limit: 0 }),
      viewer.items.get.query({ name, limit: 1 }),
    ]);
    expect(good.status === "fulfilled" && good.value.results.map((r) => r.key)).toEqual(["k000"]);
    const error = bad.status === "rejected" ? bad.reason : undefined;
    if (!isCollectionsClientError(error) || !error.data)
      throw new Error(`not a client error: ${String(error)}`);
    expect(error.data.code).toBe("BAD_REQUEST");
    expect(error.data.httpStatus).toBe(400);
    expect(error.data.issues.map((i) => i.path)).toEqual(["limit"]);
    expect(error.message).toContain("limit");

    const refused = await viewer.items.upsert
      .mutate({ name, items: [{ key: "x", value: 1 }] })
      .catch((e: unknown) => e);
    expect(isCollectionsClientError(refused) && refused.data).toMatchObject({
      code: "FORBIDDEN",
      httpStatus: 403,
      path: "items.upsert",
      issues: [],
    });
  });

  it("needs a token or getToken", () => {
    expect(() => createCollectionsClient({ url: "http://localhost" } as never)).toThrow(/token/);
  });
});

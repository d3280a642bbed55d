import { createTRPCClient, httpBatchStreamLink, httpLink, splitLink, TRPCClientError } from "@trpc/client";
import { describe, expect } from "vitest";
import type { AppRouter } from "../../server/router.js";
import { test } from "../support/fixtures.js";
import type { TenantUser } from "../support/tenant.js";
import { call } from "../support/items.js";

// A typed @trpc/client over HTTP (SPEC §4): every operation, and the streamed GET as an async iterable.

/** A typed client of the file's server acting as this user, streaming items.stream. */
const it = test.extend("client", { scope: "file" }, ({ server }) => (user: TenantUser) => {
  const url = `${server.url}/trpc`;
  const headers = () => user.headers;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.path === "items.stream",
        true: httpBatchStreamLink({ url, headers }),
        false: httpLink({ url, headers }),
      }),
    ],
  });
});
it.override({ serverEnv: { STREAM_BATCH_SIZE: "100" } });

describe("tRPC", () => {
  it("upserts, fetches, streams, deletes, lists and manages collections with types from the contracts", async ({
    tenant,
    client,
  }) => {
    const admin = client(tenant.users.admin);
    const created = await admin.collections.create.mutate({
      project_id: tenant.project.id,
      name: "trpc-items",
    });
    expect(created.name).toBe("trpc-items");

    const up = await admin.items.upsert.mutate({
      name: "trpc-items",
      items: [
        { key: "a", value: { n: 1 } },
        { key: "b", value: [2] },
        { key: "", value: 0 },
      ],
    });
    expect(up.upserted).toBe(2);
    expect(up.errors).toEqual([{ index: 2, key: "", message: "key is empty" }]);

    const page = await admin.items.get.query({ name: "trpc-items", limit: 1, meta: true });
    expect(page.results.map((r) => r.key)).toEqual(["a"]);
    expect(page.results[0]!.value).toEqual({
      n: 1,
      _meta: {
        created: page.results[0]!.created,
        updated: page.results[0]!.updated,
        version: page.results[0]!.version,
      },
    });
    expect(page.end_offset).toBe(1);
    const next = await admin.items.get.query({ name: "trpc-items", cursor: page.cursor! });
    expect(next.results.map((r) => r.key)).toEqual(["b"]);
    expect(next.cursor).toBeNull();

    const list = await admin.collections.list.query({ project_id: tenant.project.id });
    expect(list.results.find((c) => c.name === "trpc-items")?.items).toBe(2);

    const del = await admin.items.delete.mutate({ name: "trpc-items", key: "a*" });
    expect(del).toEqual({ keys: ["a"], deleted: 1, keys_truncated: false });
    const all = await admin.items.delete.mutate({ name: "trpc-items" });
    expect(all).toEqual({ keys: ["b"], deleted: 1, keys_truncated: false });
    expect(
      await admin.collections.delete.mutate({ project_id: tenant.project.id, name: "trpc-items" }),
    ).toEqual({ deleted: true });
  });

  it("errors carry the application code and status", async ({ tenant, client }) => {
    const name = await tenant.collection();
    const viewer = client(tenant.users.viewer);
    const cases: [() => Promise<unknown>, string][] = [
      [() => viewer.items.upsert.mutate({ name, items: [{ key: "a", value: 1 }] }), "FORBIDDEN"],
      [() => viewer.items.get.query({ name: "nope-nope" }), "NOT_FOUND"],
      [() => viewer.items.get.query({ name, limit: 0 }), "BAD_REQUEST"],
      [() => viewer.items.get.query({ name, offset: 1, cursor: "x" }), "BAD_REQUEST"],
      [
        () => client(tenant.users.editor).items.upsert.mutate({ name, items: [{ key: "", value: 1 }] }),
        "UNPROCESSABLE_CONTENT",
      ],
      [() => viewer.items.delete.mutate({ name }), "FORBIDDEN"],
    ];
    for (const [promise, code] of cases) {
      const e = await promise().then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(TRPCClientError);
      expect((e as TRPCClientError<AppRouter>).data?.code).toBe(code);
    }
  });

  it("items.stream is consumed as an async iterable and really streams", async ({
    server,
    tenant,
    client,
  }) => {
    const name = await tenant.collection();
    const items = Array.from({ length: 2000 }, (_, i) => ({
      key: `k${String(i).padStart(4, "0")}`,
      value: { i, pad: "y".repeat(3000) },
    }));
    expect((await call(server, tenant.users.editor, "POST", `/collections/${name}`, items)).status).toBe(201);
    // The third database batch waits until the client holds the first one: a server that buffered the
    // whole answer before sending would never let that happen (the test would time out).
    const sql = server.services.db.sql;
    const original = sql.query;
    let firstArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
    let calls = 0;
    sql.query = async function (statement) {
      if (statement.text.includes("ORDER BY items.ins_xid, items.seq") && ++calls === 3) await arrived;
      return original.call(sql, statement);
    } as typeof original;
    const keys: string[] = [];
    let batches = 0;
    let end: { end_offset: number; cursor: string | null } | undefined;
    try {
      const stream = await client(tenant.users.viewer).items.stream.query({ name });
      for await (const event of stream) {
        if (event.type === "items") {
          batches++;
          keys.push(...event.results.map((r) => r.key));
          if (batches === 1) {
            expect(calls).toBeLessThan(4);
            firstArrived();
          }
        } else {
          end = { end_offset: event.end_offset, cursor: event.cursor };
        }
      }
    } finally {
      sql.query = original;
    }
    expect(batches).toBeGreaterThan(1);
    expect(keys).toEqual(items.map((i) => i.key));
    expect(end).toEqual({ end_offset: 2000, cursor: null });

    const limited = await client(tenant.users.viewer).items.stream.query({ name, limit: 150 });
    const events = [];
    for await (const e of limited) events.push(e);
    const last = events.at(-1)!;
    expect(last.type).toBe("end");
    expect(last.type === "end" && typeof last.cursor).toBe("string");
  });
});

import { TRPCClientError } from "@trpc/client";
import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { call, seed } from "../support/items.js";
import { base64url, storedKeys, trpcAs } from "../support/integrity.js";

// Issue 11, defect 10 (SPEC §3.1, §5): a timestamp past the year 9999 once its offset is applied, and a
// cursor holding a number beyond PostgreSQL's bigint, are 400 on both dialects, never 500.

const it = test
  .extend("collection", { scope: "file" }, async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [
      { key: "k1", value: 1 },
      { key: "k2", value: 2 },
      { key: "k3", value: 3 },
    ]);
    return name;
  })
  /** A REST cursor of this service (same fingerprint) whose position is replaced by `seq`. */
  .extend(
    "restCursorWith",
    { scope: "file" },
    ({ server, tenant, collection: name }) =>
      async (seq: string): Promise<string> => {
        const first = await call(server, tenant.users.viewer, "GET", `/collections/${name}?limit=1`);
        expect(first.status).toBe(200);
        const parts = Buffer.from(first.body.cursor as string, "base64url")
          .toString("utf8")
          .split(".");
        // 2.<ins_xid>.<seq>.<offset>.<fingerprint>.<pending>, server/services/cursor.ts
        expect(parts).toHaveLength(6);
        return base64url(`2.${parts[1]}.${seq}.0.${parts[4]}.`);
      },
  );

const lateInstant = "9999-12-31T23:59:59-01:00"; // 10000-01-01T00:59:59Z
const late = encodeURIComponent(lateInstant);
const beyondBigint = "9999999999999999999"; // > 9223372036854775807

describe("10. a timestamp beyond year 9999 (after its offset) is 400", () => {
  it.for(["created_after", "created_before", "updated_after", "updated_before"])(
    "Lightning GET ?%s=9999-12-31T23:59:59-01:00: 400 {error: Bad Request}",
    async (param, { server, tenant, collection: name }) => {
      const r = await call(
        server,
        tenant.users.viewer,
        "GET",
        `/lightning/collections/${name}?${param}=${late}`,
      );
      expect(r.status, r.text).toBe(400);
      expect(r.body).toEqual({ error: "Bad Request" });
    },
  );

  it("Lightning DELETE ?key=k*&created_after=9999-12-31T23:59:59-01:00: 400 {error: Bad Request}, nothing deleted", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const r = await call(
      server,
      tenant.users.editor,
      "DELETE",
      `/lightning/collections/${name}?key=k*&created_after=${late}`,
    );
    expect(r.status, r.text).toBe(400);
    expect(r.body).toEqual({ error: "Bad Request" });
    expect(await storedKeys(server, tenant.project.id, name)).toEqual(["k1", "k2", "k3"]);
  });

  it.for(["created_after", "updated_before"])(
    "REST GET /collections/c?%s=9999-12-31T23:59:59-01:00: 400 naming the parameter",
    async (param, { server, tenant, collection: name }) => {
      const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?${param}=${late}`);
      expect(r.status, r.text).toBe(400);
      expect(r.body).toMatchObject({
        code: "BAD_REQUEST",
        message: expect.stringContaining(param),
        issues: [{ path: param }],
      });
    },
  );

  it("REST DELETE /collections/c/k*?created_after=9999-12-31T23:59:59-01:00: 400 naming created_after, nothing deleted", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const r = await call(
      server,
      tenant.users.editor,
      "DELETE",
      `/collections/${name}/k*?created_after=${late}`,
    );
    expect(r.status, r.text).toBe(400);
    expect(r.body).toMatchObject({ code: "BAD_REQUEST", issues: [{ path: "created_after" }] });
    expect(await storedKeys(server, tenant.project.id, name)).toEqual(["k1", "k2", "k3"]);
  });
});

describe("10. a cursor holding a number beyond bigint is 400", () => {
  it.for([beyondBigint, "9223372036854775808"])(
    "REST GET /collections/c?cursor=<2.xid.%s.0.fingerprint.>: 400 naming cursor",
    async (seq, { server, tenant, collection: name, restCursorWith }) => {
      const cursor = await restCursorWith(seq);
      const r = await call(server, tenant.users.viewer, "GET", `/collections/${name}?cursor=${cursor}`);
      expect(r.status, r.text).toBe(400);
      expect(r.body).toMatchObject({ code: "BAD_REQUEST", issues: [{ path: "cursor" }] });
    },
  );

  it("tRPC items.get with that cursor: BAD_REQUEST", async ({
    server,
    tenant,
    collection: name,
    restCursorWith,
  }) => {
    const cursor = await restCursorWith(beyondBigint);
    let code: string | undefined;
    try {
      await trpcAs(server, tenant.users.viewer).items.get.query({ name, cursor });
    } catch (e) {
      if (!(e instanceof TRPCClientError)) throw e;
      code = (e.data as { code?: string }).code;
    }
    expect(code).toBe("BAD_REQUEST");
  });

  it.for([beyondBigint, "9223372036854775808"])(
    "Lightning GET ?cursor=<base64url of %s>: 400 {error: Bad Request}",
    async (seq, { server, tenant, collection: name }) => {
      const r = await call(
        server,
        tenant.users.viewer,
        "GET",
        `/lightning/collections/${name}?cursor=${base64url(seq)}`,
      );
      expect(r.status, r.text).toBe(400);
      expect(r.body).toEqual({ error: "Bad Request" });
    },
  );

  it("a cursor at the largest bigint is never a 500: 200 with nothing, or 400", async ({
    server,
    tenant,
    collection: name,
    restCursorWith,
  }) => {
    const rest = await call(
      server,
      tenant.users.viewer,
      "GET",
      `/collections/${name}?cursor=${await restCursorWith("9223372036854775807")}`,
    );
    expect([200, 400], rest.text).toContain(rest.status);
    if (rest.status === 200) expect(rest.body.results).toEqual([]);
    const lightning = await call(
      server,
      tenant.users.viewer,
      "GET",
      `/lightning/collections/${name}?cursor=${base64url("9223372036854775807.9223372036854775807")}`,
    );
    expect([200, 400], lightning.text).toContain(lightning.status);
    if (lightning.status === 200) expect(lightning.body).toEqual({ items: [], cursor: null });
    // A cursor of before issue 13 (a sequence number alone) names a position among the items of then
    // (ins_xid 0): every item written since comes after it.
    const old = await call(
      server,
      tenant.users.viewer,
      "GET",
      `/lightning/collections/${name}?cursor=${base64url("9223372036854775807")}`,
    );
    expect(old.status, old.text).toBe(200);
    expect(old.body.items.map((i: { key: string }) => i.key)).toEqual(["k1", "k2", "k3"]);
  });
});

import { describe, expect } from "vitest";
import type { Prisma } from "../../server/generated/prisma/client.js";
import { test } from "../support/fixtures.js";
import { call, seed } from "../support/items.js";

// The point read (GET /collections/{name}/{key}) is the service's most frequent request: with a user
// token one statement reads the token, the user, the collection and the item, and the answer is one write.

const it = test
  .extend("collection", { scope: "file" }, async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(server, name, tenant.project.id, [
      { key: "a", value: { n: 1 } },
      { key: "b", value: [2] },
    ]);
    return name;
  })
  /** The statements the service sends while `work` runs. */
  .extend(
    "statementsDuring",
    { scope: "file" },
    ({ server }) =>
      async (work: () => Promise<unknown>): Promise<string[]> => {
        const { sql } = server.services.db;
        const original = sql.query;
        const seen: string[] = [];
        sql.query = function (statement: Prisma.Sql, options?: { prepare?: boolean }) {
          seen.push(statement.text);
          return original.call(sql, statement, options);
        } as typeof original;
        try {
          await work();
        } finally {
          sql.query = original;
        }
        return seen;
      },
  );

describe("point reads", () => {
  it("take one statement with a user token, on both dialects", async ({
    server,
    tenant,
    collection: name,
    statementsDuring,
  }) => {
    await call(server, tenant.users.viewer, "GET", `/collections/${name}/a`); // last_used_at is written at most once a minute
    let reply: Awaited<ReturnType<typeof call>> | undefined;
    const statements = await statementsDuring(
      async () => (reply = await call(server, tenant.users.viewer, "GET", `/collections/${name}/a`)),
    );
    expect(reply!.status).toBe(200);
    expect(reply!.body).toEqual({
      results: [expect.objectContaining({ key: "a", value: { n: 1 } })],
      end_offset: 1,
      cursor: null,
    });
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/FROM access_tokens[\s\S]*JOIN collections[\s\S]*LEFT JOIN items/);

    const lightning = await statementsDuring(
      async () =>
        (reply = await call(server, tenant.users.viewer, "GET", `/lightning/collections/${name}/b`)),
    );
    expect(reply!.status).toBe(200);
    expect(reply!.body).toMatchObject({ key: "b", value: "[2]" });
    expect(lightning).toHaveLength(1);
    const absent = await statementsDuring(
      async () => (reply = await call(server, tenant.users.viewer, "GET", `/collections/${name}/nope`)),
    );
    expect(reply!.body).toEqual({ results: [], end_offset: 0, cursor: null });
    expect(absent).toHaveLength(1);
  });

  it("read the item again when the request filters it, pages it, or names it in more than one way", async ({
    server,
    tenant,
    collection: name,
    statementsDuring,
  }) => {
    const created = (await call(server, tenant.users.viewer, "GET", `/collections/${name}/a`)).body.results[0]
      .created as string;
    const cases: [string, number, string[]][] = [
      [`/collections/${name}/a?created_after=2999-01-01`, 2, []],
      [`/collections/${name}/a?created_before=${created}`, 2, ["a"]],
      [`/collections/${name}/a?offset=1`, 2, []],
      [`/collections/${name}/a?meta=true&limit=1`, 1, ["a"]],
      [`/collections/${name}/a*`, 2, ["a"]],
      [`/collections/${name}/a?project_id=${tenant.project.id.toUpperCase()}`, 1, ["a"]],
    ];
    for (const [path, count, keys] of cases) {
      let reply: Awaited<ReturnType<typeof call>> | undefined;
      const statements = await statementsDuring(
        async () => (reply = await call(server, tenant.users.viewer, "GET", path)),
      );
      expect(reply!.status, path).toBe(200);
      expect(
        reply!.body.results.map((r: { key: string }) => r.key),
        path,
      ).toEqual(keys);
      expect(statements, path).toHaveLength(count);
    }
  });

  it("with a run token: the collection, then the item", async ({
    server,
    tenant,
    collection: name,
    statementsDuring,
  }) => {
    const { token } = await server.services.auth.createRunToken({ projectId: tenant.project.id });
    const runner = { id: "run", email: "", token, headers: { authorization: `Bearer ${token}` } };
    let reply: Awaited<ReturnType<typeof call>> | undefined;
    const statements = await statementsDuring(
      async () => (reply = await call(server, runner, "GET", `/collections/${name}/a`)),
    );
    expect(reply!.body.results).toHaveLength(1);
    expect(statements).toHaveLength(2);
  });

  it("never use what was read along for another collection or project", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const other = await call(
      server,
      tenant.users.viewer,
      "GET",
      `/collections/${name}/b?project_id=${crypto.randomUUID()}`,
    );
    expect(other.status).toBe(404);
    const missing = await call(server, tenant.users.viewer, "GET", `/collections/no-such-${name}/b`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("NOT_FOUND");
    const outsider = await call(server, tenant.outsider, "GET", `/collections/${name}/a`);
    expect(outsider.status).toBe(404);
  });

  it("answer in one piece with a Content-Length, whether the key exists or not", async ({
    server,
    tenant,
    collection: name,
  }) => {
    for (const key of ["a", "missing"]) {
      const res = await fetch(`${server.url}/collections/${name}/${key}`, {
        headers: tenant.users.viewer.headers,
      });
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get("transfer-encoding")).toBeNull();
      expect(Number(res.headers.get("content-length"))).toBe(Buffer.byteLength(text));
      expect(JSON.parse(text).end_offset).toBe(key === "a" ? 1 : 0);
    }
  });

  it("answer a database failure before the first byte with the error body, not a cut-off 200", async ({
    server,
    tenant,
    collection: name,
  }) => {
    const { sql } = server.services.db;
    const original = sql.query;
    sql.query = function (statement: Prisma.Sql, options?: { prepare?: boolean }) {
      const result = original.call(sql, statement, options);
      // The item statement fails once its answer is back, as a failure on the wire would.
      return statement.text.includes("ORDER BY items.ins_xid, items.seq")
        ? result.then(() => Promise.reject(new Error("injected failure")))
        : result;
    } as typeof original;
    try {
      const reply = await call(
        server,
        tenant.users.viewer,
        "GET",
        `/collections/${name}/a?created_after=2000-01-01`,
      );
      expect(reply.status).toBe(500);
      expect(reply.body).toEqual({ code: "INTERNAL_SERVER_ERROR", message: "Internal server error" });
    } finally {
      sql.query = original;
    }
    expect((await call(server, tenant.users.viewer, "GET", `/collections/${name}/a`)).status).toBe(200);
  });
});

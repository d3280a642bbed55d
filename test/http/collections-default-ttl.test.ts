import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { afterAll, describe, expect, vi } from "vitest";
import { MAX_DEFAULT_TTL_SECONDS as MAX } from "../../contracts/collections/default-ttl.js";
import type { AppRouter } from "../../server/router.js";
import { MAX_TTL_SECONDS } from "../../server/services/item-operations.js";
import { auditLines, cliFails, cliOk, removeFromPostgres } from "../support/admin-cli.js";
import { test } from "../support/fixtures.js";
import { call } from "../support/items.js";
import { rawRequest } from "../support/raw.js";
import { freshDataDir } from "../support/services.js";
import type { TenantUser } from "../support/tenant.js";

// SPEC §9.2: a collection's default TTL, set by `collection:create --ttl` and by the collection API
// (POST /projects/{project_id}/collections, PATCH /projects/{project_id}/collections/{name}, tRPC
// collections.create / collections.update), shown by GET /collections and collection:list.

const it = test.extend("client", { scope: "file" }, ({ server }) => (user: TenantUser) => {
  const headers = () => user.headers;
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${server.url}/trpc`, headers })] });
});

interface Listed {
  name: string;
  default_ttl_seconds: number | null;
}

describe("the collection API's default TTL", () => {
  it("POST takes default_ttl_seconds (optional), answers it, and GET /collections lists it", async ({
    server,
    tenant,
  }) => {
    const base = `/projects/${tenant.project.id}/collections`;
    const admin = tenant.users.admin;
    const with60 = await call(server, admin, "POST", base, { name: "with-ttl", default_ttl_seconds: 60 });
    expect(with60.status, with60.text).toBe(200);
    expect(with60.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: "with-ttl",
      project_id: tenant.project.id,
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      default_ttl_seconds: 60,
    });
    const without = await call(server, admin, "POST", base, { name: "without-ttl" });
    expect(without.body.default_ttl_seconds).toBeNull();
    const none = await call(server, admin, "POST", base, { name: "null-ttl", default_ttl_seconds: null });
    expect(none.body.default_ttl_seconds).toBeNull();
    const max = await call(server, admin, "POST", base, { name: "max-ttl", default_ttl_seconds: MAX });
    expect(max.body.default_ttl_seconds).toBe(MAX);
    // An item's own TTL may be longer than any default (the column is a 32-bit integer).
    expect(MAX).toBeLessThanOrEqual(MAX_TTL_SECONDS);

    for (const bad of [0, -1, 1.5, "60", MAX + 1, true, {}]) {
      const r = await call(server, admin, "POST", base, { name: "bad-ttl", default_ttl_seconds: bad });
      expect(r.status, String(bad)).toBe(400);
      expect(r.body.issues, String(bad)).toMatchObject([{ path: "default_ttl_seconds" }]);
      expect(r.body.message, String(bad)).toMatch(/default_ttl_seconds/);
    }
    const list = await call(
      server,
      tenant.users.viewer,
      "GET",
      `/collections?project_id=${tenant.project.id}`,
    );
    expect(list.body.results.map((c: Listed) => [c.name, c.default_ttl_seconds])).toEqual([
      ["max-ttl", MAX],
      ["null-ttl", null],
      ["with-ttl", 60],
      ["without-ttl", null],
    ]);
  });

  it("PATCH /projects/{project_id}/collections/{name} sets and removes it: admins and owners, audited", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const path = `/projects/${tenant.project.id}/collections/${name}`;
    const { admin, owner, editor, viewer } = tenant.users;
    for (const user of [editor, viewer]) {
      const r = await call(server, user, "PATCH", path, { default_ttl_seconds: 5 });
      expect(r.status).toBe(403);
      expect(r.body.code).toBe("FORBIDDEN");
    }
    expect((await call(server, tenant.outsider, "PATCH", path, { default_ttl_seconds: 5 })).status).toBe(404);
    expect((await call(server, undefined, "PATCH", path, { default_ttl_seconds: 5 })).status).toBe(401);
    const run = await server.services.auth.createRunToken({ projectId: tenant.project.id });
    const runner = { ...owner, headers: { authorization: `Bearer ${run.token}` } };
    expect((await call(server, runner, "PATCH", path, { default_ttl_seconds: 5 })).status).toBe(403);

    const set = await call(server, admin, "PATCH", path, { default_ttl_seconds: 3600 });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({ name, project_id: tenant.project.id, default_ttl_seconds: 3600 });
    const requestId = set.headers.get("x-request-id");
    await vi.waitFor(() =>
      expect(
        server.services.logs.filter((l) => l.audit === true && l.request_id === requestId),
      ).toMatchObject([
        {
          action: "collection.update",
          actor: { kind: "user", user_id: admin.id },
          target: { project_id: tenant.project.id, collection: name, default_ttl_seconds: 3600 },
        },
      ]),
    );
    const listed = async () =>
      (await call(server, viewer, "GET", `/collections?project_id=${tenant.project.id}`)).body.results.find(
        (c: Listed) => c.name === name,
      ).default_ttl_seconds;
    expect(await listed()).toBe(3600);
    const cleared = await call(server, owner, "PATCH", path, { default_ttl_seconds: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.default_ttl_seconds).toBeNull();
    expect(await listed()).toBeNull();

    for (const body of [
      {},
      { default_ttl_seconds: 0 },
      { default_ttl_seconds: "1" },
      { default_ttl_seconds: true },
      { default_ttl_seconds: MAX + 1 },
      { default_ttl_seconds: 1, other: 1 },
    ]) {
      const r = await call(server, admin, "PATCH", path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect(
      (
        await call(server, admin, "PATCH", `/projects/${tenant.project.id}/collections/nope`, {
          default_ttl_seconds: 1,
        })
      ).status,
    ).toBe(404);
    // The path's other methods: 405 lists PATCH with DELETE.
    const put = await rawRequest(server, "PUT", path, admin.headers);
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("PATCH, DELETE, OPTIONS");
    // The primary API's collection path is not this one: PATCH there stays 405.
    expect(
      (await call(server, admin, "PATCH", `/collections/${name}`, { default_ttl_seconds: 1 })).status,
    ).toBe(405);
  });

  it("tRPC collections.create and collections.update carry it with their types", async ({
    tenant,
    client,
  }) => {
    const admin = client(tenant.users.admin);
    const created = await admin.collections.create.mutate({
      project_id: tenant.project.id,
      name: "trpc-ttl",
      default_ttl_seconds: 10,
    });
    expect(created.default_ttl_seconds).toBe(10);
    const updated = await admin.collections.update.mutate({
      project_id: tenant.project.id,
      name: "trpc-ttl",
      default_ttl_seconds: null,
    });
    expect(updated).toEqual({ ...created, default_ttl_seconds: null });
    const refused = await client(tenant.users.editor)
      .collections.update.mutate({ project_id: tenant.project.id, name: "trpc-ttl", default_ttl_seconds: 1 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<AppRouter>).data?.code).toBe("FORBIDDEN");
  });
});

describe("admin CLI: collection:create --ttl", { timeout: 120_000 }, () => {
  const tag = randomUUID().slice(0, 8);
  const env = { DATA_DIR: freshDataDir() };
  const project = `cli-ttl-${tag}`;
  afterAll(async () => {
    rmSync(env.DATA_DIR, { recursive: true, force: true });
    await removeFromPostgres(`%-${tag}@test.local`, `%-${tag}%`);
  });

  it("sets the default TTL, prints and audits it; collection:list shows it; a bad --ttl is a usage error", async () => {
    await cliOk(env, ["project:create", "--name", project]);
    const r = await cliOk(env, [
      "collection:create",
      "--project",
      project,
      "--name",
      "sessions",
      "--ttl",
      "86400",
    ]);
    const help = await runCliRaw(["collection:create", "--help"]);
    expect(help.stdout).toMatch(/\[--ttl SECONDS\]/);
    expect(help.stdout).toMatch(/collection:create --project clinic --name sessions --ttl 86400/);
    expect(r).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: "sessions",
      project_id: expect.any(String),
      default_ttl_seconds: 86400,
    });
    const plain = await cliOk(env, ["collection:create", "--project", project, "--name", "plain"]);
    expect(plain.default_ttl_seconds).toBeNull();
    const { collections } = await cliOk<{ collections: Listed[] }>(env, [
      "collection:list",
      "--project",
      project,
    ]);
    expect(collections.map((c) => [c.name, c.default_ttl_seconds])).toEqual([
      ["plain", null],
      ["sessions", 86400],
    ]);
    for (const bad of ["0", "-5", "1.5", "soon", String(MAX + 1)])
      await cliFails(
        env,
        ["collection:create", "--project", project, "--name", "bad", "--ttl", bad],
        2,
        /--ttl/,
      );
    const audited = await runAudited([
      "collection:create",
      "--project",
      project,
      "--name",
      "audited",
      "--ttl",
      "60",
    ]);
    expect(audited).toMatchObject([
      { action: "collection.create", target: { collection: "audited", default_ttl_seconds: 60 } },
    ]);
  });

  async function runCliRaw(args: string[]) {
    const { runCli } = await import("../support/process.js");
    return runCli(args, env);
  }

  async function runAudited(args: string[]) {
    const r = await runCliRaw(args);
    expect(r.code, r.stderr).toBe(0);
    return auditLines(r);
  }
});

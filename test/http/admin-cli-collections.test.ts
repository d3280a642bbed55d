import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import { runCli, startServerProcess, type ServerProcess } from "../support/process.js";
import { testEnv } from "../support/env.js";
import { auditLines, cliFails, cliOk, removeFromPostgres } from "../support/admin-cli.js";

// collection:create, collection:list and collection:delete beside a running server (embedded: the CLI
// goes through the server's socket), with items written over HTTP: the counts and bytes the CLI prints
// are those of GET /collections, and deleting says how many items went.

const dataDir = freshDataDir();
const env = { DATA_DIR: dataDir };
const embedded = !testEnv().DATABASE_URL;
const tag = randomUUID().slice(0, 8);
const email = `coll-${tag}@test.local`;
const projectName = `cli-coll-${tag}`;

let server: ServerProcess;
let projectId: string;
let auth: Record<string, string>;

beforeAll(async () => {
  server = await startServerProcess(env);
  await cliOk(env, ["user:create", "--email", email]);
  projectId = (await cliOk<{ id: string }>(env, ["project:create", "--name", projectName])).id;
  await cliOk(env, ["project:add-member", "--project", projectName, "--email", email, "--role", "owner"]);
  const { token } = await cliOk<{ token: string }>(env, ["token:create", "--email", email]);
  auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  await removeFromPostgres(`%-${tag}@test.local`, `%-${tag}%`);
});

async function upsert(collection: string, items: { key: string; value: unknown }[]) {
  const res = await fetch(`${server.url}/collections/${collection}?project_id=${projectId}`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify(items),
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

interface Listed {
  name: string;
  project_id: string;
  project: string;
  items: number;
  bytes: number;
  created: string;
}

describe("admin CLI: collections", { timeout: 240_000 }, () => {
  it("names the storage it opened on stderr, never with a password", async () => {
    const r = await runCli(["collection:list", "--project", projectName], env);
    expect(r.code, r.stderr).toBe(0);
    const note = r.stderr.split("\n")[0]!;
    if (embedded) {
      expect(note).toBe(
        `collections-admin: storage embedded ${dataDir} (through the socket of the server holding it, process ${server.child.pid})`,
      );
    } else {
      const url = new URL(testEnv().DATABASE_URL!);
      expect(note).toBe(
        `collections-admin: storage postgresql ${url.hostname}:${url.port || 5432}${url.pathname}`,
      );
      if (url.password) expect(r.stderr).not.toContain(url.password);
    }
  });

  it("collection:create prints {id, name, project_id, default_ttl_seconds}, audited; refuses a duplicate, a bad name, an unknown project", async () => {
    const r = await runCli(["collection:create", "--project", projectName, "--name", "orders-2024"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: "orders-2024",
      project_id: projectId,
      default_ttl_seconds: null, // SPEC §9.2: set with --ttl (test/http/collections-default-ttl.test.ts)
    });
    expect(auditLines(r)).toMatchObject([
      {
        action: "collection.create",
        actor: { kind: "cli" },
        target: { project_id: projectId, project: projectName, collection: "orders-2024" },
      },
    ]);
    await cliFails(
      env,
      ["collection:create", "--project", projectId, "--name", "orders-2024"],
      1,
      /already exists/,
    );
    // the same name in another project is another collection
    const other = await cliOk<{ id: string }>(env, ["project:create", "--name", `${projectName}-other`]);
    expect(
      await cliOk(env, ["collection:create", "--project", other.id, "--name", "orders-2024"]),
    ).toMatchObject({ project_id: other.id });
    await cliOk(env, ["project:delete", "--project", other.id, "--yes"]);
    for (const bad of ["a--b", "-a", "a".repeat(65), "with space"]) {
      await cliFails(
        env,
        ["collection:create", "--project", projectName, "--name", bad],
        2,
        /Invalid collection name/,
      );
    }
    await cliFails(
      env,
      ["collection:create", "--project", `nope-${tag}`, "--name", "x"],
      1,
      /No project 'nope-/,
    );
  });

  it("collection:list prints the items and stored bytes of GET /collections, with the project's name", async () => {
    await cliOk(env, ["collection:create", "--project", projectName, "--name", "empty"]);
    await upsert("orders-2024", [
      { key: "a", value: { n: 1 } },
      { key: "b", value: "héllo" },
      { key: "c", value: 12345 },
    ]);
    const { collections } = await cliOk<{ collections: Listed[] }>(env, [
      "collection:list",
      "--project",
      projectName,
    ]);
    const api = (await (
      await fetch(`${server.url}/collections?project_id=${projectId}`, { headers: auth })
    ).json()) as { results: Omit<Listed, "project">[] };
    expect(collections).toEqual(api.results.map((c) => ({ ...c, project: projectName })));
    expect(collections.map((c) => [c.name, c.items, c.bytes])).toEqual([
      ["empty", 0, 0],
      ["orders-2024", 3, Buffer.byteLength('{"n":1}"héllo"12345')],
    ]);

    const all = await cliOk<{ collections: Listed[] }>(env, ["collection:list"]);
    expect(all.collections.filter((c) => c.project_id === projectId)).toEqual(collections);
    const names = all.collections.map((c) => c.name);
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    await cliFails(env, ["collection:list", "--project", `nope-${tag}`], 1, /No project/);
  });

  it("collection:delete prints how many items it removed, audited; the collection is gone", async () => {
    const r = await runCli(["collection:delete", "--project", projectName, "--name", "orders-2024"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({ deleted: true, items: 3 });
    expect(auditLines(r)).toMatchObject([
      { action: "collection.delete", target: { project_id: projectId, collection: "orders-2024", items: 3 } },
    ]);
    expect(
      (await fetch(`${server.url}/collections/orders-2024?project_id=${projectId}`, { headers: auth }))
        .status,
    ).toBe(404);
    expect(await cliOk(env, ["collection:delete", "--project", projectId, "--name", "empty"])).toEqual({
      deleted: true,
      items: 0,
    });
    await cliFails(
      env,
      ["collection:delete", "--project", projectName, "--name", "orders-2024"],
      1,
      /Collection 'orders-2024' not found/,
    );
    expect(await cliOk(env, ["collection:list", "--project", projectName])).toEqual({ collections: [] });
  });

  it("project:delete --yes counts the collections and items it removed", async () => {
    await cliOk(env, ["collection:create", "--project", projectName, "--name", "one"]);
    await cliOk(env, ["collection:create", "--project", projectName, "--name", "two"]);
    await upsert("one", [{ key: "k1", value: 1 }]);
    await upsert("two", [
      { key: "k1", value: 1 },
      { key: "k2", value: 2 },
    ]);
    const r = await runCli(["project:delete", "--project", projectName, "--yes"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({
      id: projectId,
      name: projectName,
      deleted: true,
      collections: 2,
      items: 3,
      members: 1,
    });
    expect(auditLines(r)).toMatchObject([
      { action: "project.delete", target: { project_id: projectId, collections: 2, items: 3, members: 1 } },
    ]);
    const list = (await (await fetch(`${server.url}/collections`, { headers: auth })).json()) as {
      results: unknown[];
    };
    expect(list.results).toEqual([]);
  });
});

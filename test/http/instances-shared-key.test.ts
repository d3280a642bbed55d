import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePart } from "../support/auth.js";
import { usingPostgresServer } from "../support/env.js";
import { freshDatabase, type FreshDatabase } from "../support/fresh-database.js";
import { runCli, startServerProcess, type ServerProcess } from "../support/process.js";

// Several instances on one PostgreSQL database (SPEC §7): two service processes, each with a DATA_DIR of
// its own and no JWT_SIGNING_KEY, started at the same moment on a new, empty database. A token minted on
// one is accepted by the other, a revocation on one holds on the other at the next request, and a cursor
// from one continues on the other.

const skipReason =
  "PostgreSQL server only: the embedded database is single-process (one instance per DATA_DIR)";

describe.runIf(usingPostgresServer())(
  `two instances on one PostgreSQL database (${skipReason})`,
  { timeout: 120_000 },
  () => {
    let fresh: FreshDatabase;
    let url: string;
    const dirs = { a: "", b: "", cli: "" };
    let a: ServerProcess;
    let b: ServerProcess;
    let owner: string; // a token minted by the admin CLI
    let projectId: string;
    const email = "ops@instances.test";
    const noKey = { JWT_SIGNING_KEY: undefined, JWT_SIGNING_KEY_FILE: undefined, JWT_VERIFY_KEYS: undefined };

    const cli = async (...args: string[]) => {
      const r = await runCli(args, { DATABASE_URL: url, DATA_DIR: dirs.cli, ...noKey });
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r.json as Record<string, string>;
    };
    const call = async (on: ServerProcess, token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(on.url + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };

    beforeAll(async () => {
      fresh = await freshDatabase({ migrated: false });
      url = fresh.storage.DATABASE_URL!;
      for (const k of Object.keys(dirs) as (keyof typeof dirs)[])
        dirs[k] = mkdtempSync(join(tmpdir(), `instance-${k}-`));
      // Both boot at once on the empty database: both migrate and both race to store the signing key.
      const start = (dir: string) => startServerProcess({ DATABASE_URL: url, DATA_DIR: dir, ...noKey });
      [a, b] = await Promise.all([start(dirs.a), start(dirs.b)]);
      await cli("user:create", "--email", email);
      projectId = (await cli("project:create", "--name", "shared"))["id"]!;
      await cli("project:add-member", "--project", "shared", "--email", email, "--role", "owner");
      await cli("collection:create", "--project", "shared", "--name", "pages");
      owner = (await cli("token:create", "--email", email))["token"]!;
    });

    afterAll(async () => {
      const codes = await Promise.all([a?.stop(), b?.stop()]);
      await fresh?.drop();
      for (const d of Object.values(dirs)) if (d) rmSync(d, { recursive: true, force: true });
      expect(codes).toEqual([0, 0]);
    });

    it("share one signing key, stored in the database, each warning that production should configure JWT_SIGNING_KEY", async () => {
      for (const instance of [a, b]) {
        const warning = instance
          .stderr()
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line))
          .find((line) => line.level === "warn");
        expect(warning).toMatchObject({
          msg: expect.stringMatching(
            /No JWT_SIGNING_KEY configured.*Whoever can read that table can sign tokens/,
          ),
        });
        expect(warning.kid).toBe(decodePart(owner, 0).kid);
      }
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      try {
        expect((await pool.query("SELECT id FROM signing_keys")).rows).toEqual([{ id: 1 }]);
      } finally {
        await pool.end();
      }
      for (const d of Object.values(dirs)) expect(readdirSync(d)).toEqual([]); // no key file anywhere
    });

    it("accept each other's tokens, and a revocation on A is refused by B on the very next request", async () => {
      expect((await call(a, owner, "GET", "/collections")).status).toBe(200);
      expect((await call(b, owner, "GET", "/collections")).status).toBe(200);

      const minted = await call(a, owner, "POST", "/tokens", { label: "minted on A" });
      expect(minted.status).toBe(200);
      const { id, token } = minted.body as { id: string; token: string };
      const run = await call(a, owner, "POST", `/projects/${projectId}/run-tokens`, {});
      expect(run.status).toBe(200);
      // B verifies (and remembers) both; then A revokes the user token.
      expect((await call(b, token, "GET", "/collections/pages")).status).toBe(200);
      expect((await call(b, run.body.token, "GET", "/collections/pages")).status).toBe(200);
      expect((await call(a, token, "GET", "/tokens")).status).toBe(200);

      expect(await call(a, owner, "DELETE", `/tokens/${id}`)).toMatchObject({
        status: 200,
        body: { id, revoked: true },
      });
      expect(await call(b, token, "GET", "/collections/pages")).toMatchObject({
        status: 401,
        body: { code: "UNAUTHORIZED" },
      });
      expect((await call(a, token, "GET", "/collections/pages")).status).toBe(401);
      expect((await call(b, owner, "GET", "/collections/pages")).status).toBe(200);
    });

    it("continue a cursor from A on B without repeat or gap, while B writes", async () => {
      const items = (from: number, n: number) =>
        Array.from({ length: n }, (_, i) => ({
          key: `k-${String(from + i).padStart(3, "0")}`,
          value: { n: from + i },
        }));
      expect((await call(a, owner, "POST", "/collections/pages", items(0, 40))).status).toBe(201);

      const seen: string[] = [];
      const page = async (on: ServerProcess, cursor?: string) => {
        const query = `?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const r = await call(on, owner, "GET", `/collections/pages${query}`);
        expect(r.status).toBe(200);
        seen.push(...r.body.results.map((x: { key: string }) => x.key));
        return r.body.cursor as string | null;
      };
      let cursor = await page(a);
      cursor = await page(a, cursor!);
      cursor = await page(a, cursor!); // 21 of 40 read on A
      // B writes new keys and updates one already read (an update keeps its place).
      expect(
        (
          await call(b, owner, "POST", "/collections/pages", [
            ...items(40, 5),
            { key: "k-000", value: "updated" },
          ])
        ).status,
      ).toBe(201);
      while (cursor) cursor = await page(b, cursor);

      const all = await call(b, owner, "GET", "/collections/pages");
      const keys = all.body.results.map((x: { key: string }) => x.key);
      expect(keys).toEqual(items(0, 45).map((x) => x.key));
      expect(seen).toEqual(keys);
    });
  },
);

import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import { runCli, startServerProcess, type ServerProcess } from "../support/process.js";
import { testEnv } from "../support/env.js";
import { cliOk } from "../support/admin-cli.js";

// Embedded storage: the admin CLI reaches the database a running server holds through its socket,
// DATA_DIR/.s.PGSQL.5432. One PGlite session serves every client of that socket, so the CLI must not leave
// prepared statements behind that the next CLI run would prepare again under the same name.

const embedded = !testEnv().DATABASE_URL;
const dataDir = freshDataDir();
const env = { DATA_DIR: dataDir };
const tag = randomUUID().slice(0, 8);
const email = `shared-${tag}@test.local`;
const projectName = `shared-${tag}`;

let server: ServerProcess;
let projectId: string;
let auth: Record<string, string>;

beforeAll(async () => {
  if (!embedded) return;
  server = await startServerProcess(env);
  await cliOk(env, ["user:create", "--email", email]);
  projectId = (await cliOk<{ id: string }>(env, ["project:create", "--name", projectName])).id;
  await cliOk(env, ["project:add-member", "--project", projectName, "--email", email, "--role", "owner"]);
  const { token } = await cliOk<{ token: string }>(env, ["token:create", "--email", email]);
  auth = { authorization: `Bearer ${token}` };
  await cliOk(env, ["collection:create", "--project", projectName, "--name", "c"]);
  const items = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: { n: i } }));
  const res = await fetch(`${server.url}/collections/c?project_id=${projectId}`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(items),
  });
  expect(res.status, await res.clone().text()).toBe(201);
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe.runIf(embedded)(
  "embedded: the admin CLI through a running server's socket",
  { timeout: 240_000 },
  () => {
    it("collection:export --key through the running server works twice in a row", async () => {
      for (let round = 0; round < 2; round++) {
        const r = await runCli(
          ["collection:export", "--project", projectName, "--name", "c", "--key", "k1"],
          env,
        );
        expect(r.code, `round ${round}: ${r.stderr}`).toBe(0);
        expect(r.stderr).toMatch(/through the socket/);
        expect(r.stdout).toMatch(/^\{"key":"k1","value":\{"n":1\},/);
      }
    });

    it("the server's own prepared statements still answer after the CLI used the socket", async () => {
      // The server keeps its hot statements prepared on the same session (server/sql.ts); a socket
      // client's turn must neither remove them nor take their answers.
      const r = await runCli(["collection:list", "--project", projectName], env);
      expect(r.code, r.stderr).toBe(0);
      for (const n of [2, 3]) {
        const res = await fetch(`${server.url}/collections/c/k${n}?project_id=${projectId}`, {
          headers: auth,
        });
        expect(res.status, await res.clone().text()).toBe(200);
        const body = (await res.json()) as { results: { key: string; value: unknown }[] };
        expect(body.results.map((i) => [i.key, i.value])).toEqual([[`k${n}`, { n }]]);
      }
    });
  },
);

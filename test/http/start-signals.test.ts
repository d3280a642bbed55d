import { request } from "node:http";
import { rmSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { upsertItems } from "../../server/services/items.js";
import { testEnv } from "../support/env.js";
import { serviceNodeFlags } from "../../scripts/service-node-flags.js";
import {
  copyRepository,
  npmStart,
  processGroup,
  TYPESCRIPT_LOADER,
  type NpmStart,
} from "../support/npm-start.js";
import { createTestServices, freshDataDir } from "../support/services.js";
import { sleep } from "../support/sockets.js";
import { createTenant, type Tenant } from "../support/tenant.js";

// SPEC §8.1: `npm start`, run as an operator runs it (a copy of the repository built as npm install
// builds it), stops gracefully on SIGTERM or SIGINT sent to npm or to the service's own process: a slow
// 50,000-item GET in flight completes as valid JSON, npm and node exit 0 and nothing of the process group
// is left. A signal repeated a second or more after the first forces the stop (server/stop-signals.ts).

const ITEMS = 50_000;
const itemKey = (i: number) => `item-${String(i).padStart(5, "0")}`;
const dataDir = freshDataDir();
let repo: Awaited<ReturnType<typeof copyRepository>>;
let tenant: Tenant;
let name: string;
/** A collection larger than the loopback socket buffers hold (~24 MB), so that a slow GET of it cannot end early. */
let bulky: string;
let started: NpmStart | undefined;

beforeAll(async () => {
  const copying = copyRepository();
  // The tenant and its items are written in-process, then the directory is handed to `npm start`.
  const services = await createTestServices({ DATA_DIR: dataDir });
  try {
    tenant = await createTenant(services);
    name = await tenant.collection();
    const { id } = await services.db.prisma.collection.findFirstOrThrow({
      where: { name, projectId: tenant.project.id },
      select: { id: true },
    });
    for (let i = 0; i < ITEMS; i += 5000) {
      const batch = Array.from({ length: 5000 }, (_, j) => ({
        key: itemKey(i + j),
        valueJson: JSON.stringify({ n: i + j }),
      }));
      await upsertItems(services.db.sql, id, batch);
    }
    bulky = await tenant.collection();
    const big = await services.db.prisma.collection.findFirstOrThrow({
      where: { name: bulky, projectId: tenant.project.id },
      select: { id: true },
    });
    const value = JSON.stringify("x".repeat(512 << 10));
    await upsertItems(
      services.db.sql,
      big.id,
      Array.from({ length: 48 }, (_, i) => ({ key: itemKey(i), valueJson: value })),
    );
  } finally {
    await services.close();
  }
  repo = await copying;
}, 180_000);

afterEach(() => {
  started?.killGroup(); // only does something when a test failed and left processes behind
  started = undefined;
});

afterAll(async () => {
  repo?.remove();
  if (tenant) {
    const cleanup = await createTestServices({ DATA_DIR: dataDir });
    const userIds = [...Object.values(tenant.users), tenant.outsider].map((u) => u.id);
    await cleanup.db.prisma.project.deleteMany({ where: { id: tenant.project.id } });
    await cleanup.db.prisma.user.deleteMany({ where: { id: { in: userIds } } });
    await cleanup.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

interface SlowAnswer {
  status: number;
  text: string;
  complete: boolean;
}

/** GET read at about `bytesPerSecond`; `begun` resolves once the first bytes of the body have arrived. */
function slowGet(url: string, headers: Record<string, string>, bytesPerSecond: number) {
  let bodyBegun!: () => void;
  const begun = new Promise<void>((resolve) => (bodyBegun = resolve));
  const done = new Promise<SlowAnswer>((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        bodyBegun();
        res.pause();
        setTimeout(() => res.resume(), (chunk.length / bytesPerSecond) * 1000);
      });
      res.on("error", () => {}); // a cut transfer: `complete` says so
      res.on("close", () =>
        resolve({
          status: res.statusCode!,
          text: Buffer.concat(chunks).toString("utf8"),
          complete: res.complete,
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
  return { begun, done };
}

const env = () => ({
  PORT: "0",
  HOST: "127.0.0.1",
  DATA_DIR: dataDir,
  DATABASE_URL: testEnv().DATABASE_URL ?? "",
  LOG_LEVEL: "info",
});

/** npm and the service's node, nothing else (the script's shell execs node), and no TypeScript loader. */
function expectCompiledServiceOnly(server: NpmStart): number {
  const group = processGroup(server.pgid);
  expect(group.map((p) => p.cmdline.trim())).toEqual([
    expect.stringMatching(/^npm start\b/),
    ["node", ...serviceNodeFlags(), "dist/main.js"].join(" "),
  ]);
  for (const p of group) {
    expect(p.cmdline).not.toMatch(TYPESCRIPT_LOADER);
    expect(p.nodeOptions ?? "").not.toMatch(TYPESCRIPT_LOADER);
  }
  return group.find((p) => p.cmdline.startsWith("node "))!.pid;
}

type Target = "npm" | "node" | "group";

function send(server: NpmStart, nodePid: number, to: Target, signal: NodeJS.Signals) {
  process.kill(to === "npm" ? server.pgid : to === "node" ? nodePid : -server.pgid, signal);
}

const messages = (server: NpmStart) =>
  server.lines.map((l) => (typeof l === "string" ? l : (l as { msg?: string }).msg));

/** npm has exited, and with it every process of its group; then its output is complete. */
async function expectNothingLeft(server: NpmStart) {
  expect(processGroup(server.pgid)).toEqual([]);
  await Promise.race([server.closed, sleep(5000)]);
}

async function stopDuringSlowGet(to: Target, signal: NodeJS.Signals, npmArgs: string[] = []) {
  const server = (started = await npmStart(repo.dir, env(), npmArgs));
  const nodePid = expectCompiledServiceOnly(server);
  const get = slowGet(`${server.url}/collections/${name}`, tenant.users.viewer.headers, 4 << 20);
  await get.begun;
  send(server, nodePid, to, signal);
  const [answer, exit] = await Promise.all([get.done, server.exited]);

  expect(exit).toEqual({ code: 0, signal: null }); // npm exits with its script's code: node's
  await expectNothingLeft(server);
  expect(answer.status).toBe(200);
  expect(answer.complete).toBe(true);
  const body = JSON.parse(answer.text) as {
    results: { key: string; value: { n: number } }[];
    cursor: string | null;
  };
  expect(body.results).toHaveLength(ITEMS);
  expect(body.results.every((r, i) => r.key === itemKey(i) && r.value.n === i)).toBe(true);
  expect(body.cursor).toBeNull();

  // The GET was in flight when the stop began: its request line comes after "shutting down".
  const lines = server.lines.filter((l): l is Record<string, unknown> => typeof l === "object" && l !== null);
  const shutting = lines.findIndex((l) => l.msg === "shutting down");
  expect(lines[shutting]).toMatchObject({ signal });
  const getLine = lines.findIndex((l) => l.msg === "request" && l.path === `/collections/${name}`);
  expect(getLine).toBeGreaterThan(shutting);
  expect(lines[getLine]).toMatchObject({ status: 200 });
  expect(lines[getLine]).not.toHaveProperty("aborted");
  expect(lines.at(-1)).toMatchObject({ msg: "stopped" });
  return server;
}

describe("npm start and signals", () => {
  it("SIGTERM to npm: the GET in flight completes, npm and node exit 0, nothing is left", async () => {
    const server = await stopDuringSlowGet("npm", "SIGTERM");
    // Without --silent npm writes its banner on stdout before the service's JSON lines.
    expect(server.lines.filter((l) => typeof l === "string" && l !== "")).toEqual([
      expect.stringMatching(/^> collections-service@[^ ]+ start$/),
      `> exec ${["node", ...serviceNodeFlags(), "dist/main.js"].join(" ")}`,
    ]);
  });

  it("SIGINT to npm, started with --silent: the same, and stdout is only the service's JSON lines", async () => {
    const server = await stopDuringSlowGet("npm", "SIGINT", ["--silent"]);
    expect(server.lines.filter((l) => typeof l !== "object")).toEqual([]);
  });

  it("SIGTERM to the service's node process: the same", async () => {
    await stopDuringSlowGet("node", "SIGTERM");
  });

  it("SIGINT to the whole process group (Ctrl-C in a terminal: node gets it from the terminal and from npm): the same", async () => {
    const server = await stopDuringSlowGet("group", "SIGINT");
    expect(messages(server).filter((m) => m === "shutting down")).toHaveLength(1);
  });

  it("a signal repeated a second or more after the first forces the stop: the GET is cut, the exit code is 128 + signal", async () => {
    const server = (started = await npmStart(repo.dir, env()));
    const nodePid = expectCompiledServiceOnly(server);
    // ~24 s to read: more than the socket buffers take, so the server is still writing when the
    // second signal comes.
    const get = slowGet(`${server.url}/collections/${bulky}`, tenant.users.viewer.headers, 1 << 20);
    await get.begun;
    send(server, nodePid, "npm", "SIGTERM");
    await sleep(1500);
    send(server, nodePid, "npm", "SIGTERM");
    const [answer, exit] = await Promise.all([get.done, server.exited]);
    expect(exit).toEqual({ code: 143, signal: null });
    await expectNothingLeft(server);
    expect(answer.complete).toBe(false);
    expect(() => JSON.parse(answer.text)).toThrow();
    expect(messages(server)).toEqual(
      expect.arrayContaining(["shutting down", "forced stop: requests in flight are cut"]),
    );
    expect(messages(server).at(-1)).toBe("stopped");
  });
});

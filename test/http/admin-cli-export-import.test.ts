import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import { runCli, startServerProcess, type ServerProcess } from "../support/process.js";
import { testEnv } from "../support/env.js";
import { cliFails, cliOk, removeFromPostgres } from "../support/admin-cli.js";

// SPEC §9.4's CLI: collection:export / collection:import through files and through pipes, beside a
// running server (embedded: both go through its socket) and on a database the CLI opens itself; the
// progress on stderr as JSON lines (not a terminal) and as a bar (a pseudo-terminal, `script`).

const root = fileURLToPath(new URL("../..", import.meta.url));
const dataDir = freshDataDir();
const env = { DATA_DIR: dataDir };
const tag = randomUUID().slice(0, 8);
const email = `xfer-${tag}@test.local`;
const projectName = `cli-xfer-${tag}`;
const scratch = mkdtempSync(join(tmpdir(), "collections-cli-xfer-"));

let server: ServerProcess;
let projectId: string;
let auth: Record<string, string>;

/** Items whose keys and value texts must come back byte for byte (the body is written by hand: 1.0 stays 1.0). */
const hostile: [string, string][] = [
  ["\uFEFFbom", "1.0"],
  ["line\u2028sep", "1e400"],
  ["a\\b", "-0"],
  ["export", '{"x":[1.50,"\\u0041"],"e":1E+2}'],
  ['quote"d', '"\\ud83d\\ude00 \u2029"'],
];
const MANY = 3000;

async function createCollection(name: string): Promise<void> {
  await cliOk(env, ["collection:create", "--project", projectName, "--name", name]);
}

async function post(name: string, body: string): Promise<void> {
  const res = await fetch(`${server.url}/collections/${name}?project_id=${projectId}`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body,
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

/** The export of a collection over HTTP, each line without its timestamps and version: key and value text. */
async function keysAndValues(name: string): Promise<string[]> {
  const res = await fetch(`${server.url}/collections/${name}/export?project_id=${projectId}`, {
    headers: auth,
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  return text === ""
    ? []
    : text
        .slice(0, -1)
        .split("\n")
        .map((l) => l.replace(/,"created":.*$/, ""));
}

/** `sh -c line` with the test storage; stdout and stderr kept. */
function sh(
  line: string,
  extraEnv: Record<string, string> = env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", line], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: testEnv().DATABASE_URL ?? "", LOG_LEVEL: "info", ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const progressLines = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith('{"progress":'))
    .map((l) => (JSON.parse(l) as { progress: Record<string, unknown> }).progress);

const admin = `${JSON.stringify(process.execPath)} dist/admin.js`;

beforeAll(async () => {
  server = await startServerProcess(env);
  await cliOk(env, ["user:create", "--email", email]);
  projectId = (await cliOk<{ id: string }>(env, ["project:create", "--name", projectName])).id;
  await cliOk(env, ["project:add-member", "--project", projectName, "--email", email, "--role", "owner"]);
  const { token } = await cliOk<{ token: string }>(env, ["token:create", "--email", email]);
  auth = { authorization: `Bearer ${token}` };
  await createCollection("source");
  await post("source", `[${hostile.map(([k, v]) => `{"key":${JSON.stringify(k)},"value":${v}}`).join(",")}]`);
  for (let start = 0; start < MANY; start += 1000) {
    const items = Array.from({ length: 1000 }, (_, i) => ({ key: `m${start + i}`, value: { n: start + i } }));
    await post("source", JSON.stringify(items));
  }
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
  await removeFromPostgres(`%-${tag}@test.local`, `%-${tag}%`);
});

describe("admin CLI: collection:export and collection:import", { timeout: 240_000 }, () => {
  it("round trip through a file: export --out prints {exported, file}; import --file reproduces keys and values", async () => {
    const file = join(scratch, "source.ndjson");
    const r = await runCli(
      ["collection:export", "--project", projectName, "--name", "source", "--out", file],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({ exported: MANY + hostile.length, file });
    const lines = readFileSync(file, "utf8").split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(MANY + hostile.length);
    expect(lines[0]).toMatch(
      /^\{"key":"\uFEFFbom","value":1\.0,"created":"[^"]+","updated":"[^"]+","version":\d+\}$/,
    );
    // Not a terminal: JSON progress lines, the last one saying it is done, with the total from the counters.
    const progress = progressLines(r.stderr);
    expect(progress.at(-1)).toMatchObject({
      items: MANY + hostile.length,
      total: MANY + hostile.length,
      done: true,
    });
    expect(typeof progress.at(-1)!.rate).toBe("number");

    await createCollection("from-file");
    const i = await runCli(
      ["collection:import", "--project", projectName, "--name", "from-file", "--file", file],
      env,
    );
    expect(i.code, i.stderr).toBe(0);
    expect(i.json).toEqual({
      upserted: MANY + hostile.length,
      created: MANY + hostile.length,
      skipped: 0,
      errors: [],
      error_count: 0,
    });
    expect(progressLines(i.stderr).at(-1)).toMatchObject({
      items: MANY + hostile.length,
      bytes: Buffer.byteLength(readFileSync(file)),
      done: true,
    });
    expect(await keysAndValues("from-file")).toEqual(await keysAndValues("source"));
    expect((await keysAndValues("from-file")).slice(0, hostile.length)).toEqual(
      hostile.map(([k, v]) => `{"key":${JSON.stringify(k)},"value":${v}`),
    );
  });

  it("round trip through a pipe: export's stdout is the NDJSON (its summary on stderr) into import's stdin", async () => {
    await createCollection("from-pipe");
    const r = await sh(
      `${admin} collection:export --project ${projectName} --name source --key 'm1*' | ${admin} collection:import --project ${projectName} --name from-pipe --mode create-only`,
    );
    expect(r.code, r.stderr).toBe(0);
    const expected = Array.from({ length: MANY }, (_, i) => `m${i}`).filter((k) => k.startsWith("m1")).length;
    expect(JSON.parse(r.stdout)).toEqual({
      upserted: expected,
      created: expected,
      skipped: 0,
      errors: [],
      error_count: 0,
    });
    expect(r.stderr).toContain(`{"exported":${expected},"file":null}`);
    expect((await keysAndValues("from-pipe")).map((l) => JSON.parse(`${l}}`).key)).toEqual(
      Array.from({ length: MANY }, (_, i) => `m${i}`).filter((k) => k.startsWith("m1")),
    );
    // Again: every key exists now, create-only skips them all.
    const again = await sh(
      `${admin} collection:export --project ${projectName} --name source --key 'm1*' 2>/dev/null | ${admin} collection:import --project ${projectName} --name from-pipe --mode create-only --atomic`,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ upserted: 0, created: 0, skipped: expected });
  });

  it("reports refused lines by number; --atomic writes nothing then, prints the summary and exits 1", async () => {
    await createCollection("with-errors");
    const file = join(scratch, "bad.ndjson");
    writeFileSync(file, '{"key":"a","value":1}\n{"key":"b"}\n\n{"key":"c","value":3}\nnot json');
    const atomic = await runCli(
      ["collection:import", "--project", projectName, "--name", "with-errors", "--file", file, "--atomic"],
      env,
    );
    expect(atomic.code).toBe(1);
    expect(atomic.json).toMatchObject({ upserted: 0, error_count: 2 });
    expect(atomic.stderr).toMatch(/nothing was imported: 2 line\(s\) refused/);
    expect(await keysAndValues("with-errors")).toEqual([]);
    const partial = await cliOk(env, [
      "collection:import",
      "--project",
      projectName,
      "--name",
      "with-errors",
      "--file",
      file,
    ]);
    expect(partial).toEqual({
      upserted: 2,
      created: 2,
      skipped: 0,
      errors: [
        { line: 2, message: "value is missing" },
        { line: 5, message: expect.stringMatching(/not valid JSON/) },
      ],
      error_count: 2,
    });
  });

  it("usage errors exit 2 (flags and files checked before any storage is opened); an unknown collection exits 1", async () => {
    await cliFails(
      env,
      ["collection:import", "--project", projectName, "--name", "source", "--mode", "merge"],
      2,
      /--mode must be one of upsert, create-only/,
    );
    await cliFails(
      env,
      [
        "collection:import",
        "--project",
        projectName,
        "--name",
        "source",
        "--file",
        join(scratch, "absent.ndjson"),
      ],
      2,
      /is not a file that can be read/,
    );
    await cliFails(
      env,
      [
        "collection:export",
        "--project",
        projectName,
        "--name",
        "source",
        "--out",
        join(scratch, "no", "dir.ndjson"),
      ],
      2,
      /does not exist/,
    );
    await cliFails(
      env,
      ["collection:import", "--project", projectName, "--name", "source", "--atomic=yes"],
      2,
      /--atomic takes no value/,
    );
    await cliFails(env, ["collection:export", "--project", projectName], 2, /Missing --name/);
    const r = await runCli(
      ["collection:export", "--project", projectName, "--name", "source", "--key", "x".repeat(2000)],
      env,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/MAX_PATTERN_LENGTH/);
    const missing = await runCli(["collection:export", "--project", projectName, "--name", "nope"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No collection 'nope'/);
    expect(missing.stdout).toBe("");
  });

  it("--help of each shows its flags and examples", async () => {
    for (const name of ["collection:export", "collection:import"]) {
      const r = await runCli([name, "--help"], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: collections-admin ${name} --project PROJECT --name NAME`));
      expect(r.stdout).toMatch(/Examples:\n  collections-admin collection:/);
      expect(r.stdout).toMatch(/progress/i);
    }
  });

  it("on a terminal, stderr shows a progress bar with items, items/s and the ETA", async (ctx) => {
    // util-linux `script` runs the command on a pseudo-terminal (stdin, stdout and stderr are all one TTY).
    if (spawnSync("script", ["--version"]).status !== 0) ctx.skip();
    const file = join(scratch, "tty.ndjson");
    const command = `${admin} collection:export --project ${projectName} --name source --out ${file}`;
    const r = await sh(`script -qfec ${JSON.stringify(command)} /dev/null`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const screen = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
    expect(screen).toMatch(
      new RegExp(
        `exporting \\[[█░]+\\] 100% \\| ${MANY + hostile.length}/${MANY + hostile.length} items \\| \\d+ items/s \\| ETA `,
      ),
    );
    expect(screen).not.toContain('{"progress"');
    expect(screen).toContain(`{"exported":${MANY + hostile.length},"file":${JSON.stringify(file)}}`);
    await createCollection("from-tty");
    const imp = await sh(
      `script -qfec ${JSON.stringify(`${admin} collection:import --project ${projectName} --name from-tty --file ${file}`)} /dev/null`,
    );
    expect(imp.code, imp.stdout).toBe(0);
    expect(imp.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")).toMatch(
      new RegExp(
        `importing \\[[█░]+\\] 100% \\| ${MANY + hostile.length} items \\(100% of the file\\) \\| \\d+ items/s`,
      ),
    );
  });
});

describe("admin CLI: export and import on a database the CLI opens itself", { timeout: 240_000 }, () => {
  const own = freshDataDir();
  const ownEnv = { DATA_DIR: own };
  afterAll(() => rmSync(own, { recursive: true, force: true }));

  it("imports a file and exports it back, without a server", async () => {
    const ownProject = `cli-xfer-own-${tag}`;
    await cliOk(ownEnv, ["project:create", "--name", ownProject]);
    await cliOk(ownEnv, ["collection:create", "--project", ownProject, "--name", "c"]);
    const file = join(scratch, "own.ndjson");
    writeFileSync(
      file,
      hostile.map(([k, v]) => `{"key":${JSON.stringify(k)},"value":${v}}`).join("\n") + "\n",
    );
    const imported = await cliOk(ownEnv, [
      "collection:import",
      "--project",
      ownProject,
      "--name",
      "c",
      "--file",
      file,
    ]);
    expect(imported).toMatchObject({ upserted: hostile.length, created: hostile.length, error_count: 0 });
    const r = await runCli(["collection:export", "--project", ownProject, "--name", "c"], ownEnv);
    expect(r.code, r.stderr).toBe(0);
    if (!testEnv().DATABASE_URL) expect(r.stderr).not.toMatch(/through the socket/);
    expect(
      r.stdout
        .slice(0, -1)
        .split("\n")
        .map((l) => l.replace(/,"created":.*$/, "")),
    ).toEqual(hostile.map(([k, v]) => `{"key":${JSON.stringify(k)},"value":${v}`));
    expect(r.stderr).toContain(`{"exported":${hostile.length},"file":null}`);
    await removeFromPostgres("none", ownProject);
  });
});

import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import { runCli, startServerProcess, type ServerProcess } from "../support/process.js";
import { testEnv } from "../support/env.js";
import { removeFromPostgres } from "../support/admin-cli.js";
import { commands } from "../../server/cli/commands.js";

// The README's admin CLI section as a reader uses it: its usage block is what `--help` prints, and its
// examples run as written (`sh -c`, piped into jq) on the test storage, beside a running server.

const root = fileURLToPath(new URL("../..", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");
const section = readme.slice(
  readme.indexOf("## Admin CLI\n"),
  readme.indexOf("\n## ", readme.indexOf("## Admin CLI\n") + 1),
);
const fenced = (lang: string) =>
  [...section.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);
const examples = fenced("sh")
  .flatMap((block) => block.split("\n"))
  .filter((line) => line.startsWith("npx collections-admin ") || line.startsWith("npm run -s admin -- "));

const dataDir = freshDataDir();
let server: ServerProcess;

beforeAll(async () => {
  await removeFromPostgres("ada@example.org", "clinic");
  server = await startServerProcess({ DATA_DIR: dataDir });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  await removeFromPostgres("ada@example.org", "clinic");
});

function sh(line: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      DATABASE_URL: testEnv().DATABASE_URL ?? "",
      LOG_LEVEL: "info",
      NODE_ENV: "test",
    };
    const child = spawn("sh", ["-c", line], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * What the CLI may write on stderr when all goes well: the storage note, migrations applied, audit lines
 * and other info or warn log lines (on PostgreSQL without JWT_SIGNING_KEY, signing warns about the key).
 */
const expectedStderr = (line: string) =>
  /^collections-admin: (storage|applied migrations) /.test(line) ||
  // collection:export / collection:import: progress lines, and the export's summary when stdout is the data
  /^\{"(progress|exported)":/.test(line) ||
  (line.startsWith("{") && ["info", "warn"].includes((JSON.parse(line) as { level?: string }).level ?? ""));

describe("the README's admin CLI section", { timeout: 300_000 }, () => {
  it("shows exactly what `collections-admin --help` prints", async () => {
    const help = await runCli(["--help"]);
    expect(fenced("text")[0]).toBe(help.stdout);
  });

  it("has an example of every command, through npx and through `npm run -s admin`", () => {
    const used = new Set(
      examples.flatMap((l) =>
        [...l.matchAll(/(?:collections-admin|admin --) ([a-z-]+:[a-z-]+)/g)].map((m) => m[1]!),
      ),
    );
    expect([...used].sort()).toEqual(commands.map((c) => c.name).sort());
    expect(examples.some((l) => l.startsWith("npx collections-admin "))).toBe(true);
    expect(examples.some((l) => l.startsWith("npm run -s admin -- "))).toBe(true);
  });

  it("runs every example as written, in order, each piping one JSON document into jq", async () => {
    for (const line of examples) {
      const r = await sh(line);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
      expect(r.stdout.trim(), `${line}\n${r.stderr}`).not.toBe("");
      expect(r.stdout, line).not.toMatch(/^null$/m);
      const unexpected = r.stderr.split("\n").filter((l) => l && !expectedStderr(l));
      expect(unexpected, line).toEqual([]);
    }
  });
});

import { execFileSync, spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// SPEC §4: a TypeScript caller imports the router type and a client factory from the package's
// `./client` export, without the server's source tree. A separate strict project, with the package
// linked into its node_modules as an install would, type-checks against the emitted declarations; its
// `@ts-expect-error` lines prove that wrong inputs do not compile (an unused one is an error).

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsc = join(root, "node_modules/typescript/bin/tsc");

const clientSource = `import {
  createCollectionsClient,
  isCollectionsClientError,
  type ErrorCode,
  type Issue,
  type RouterInputs,
  type RouterOutputs,
} from "collections-service/client";

const client = createCollectionsClient({ url: "http://localhost:3000", token: "token" });
const refreshing = createCollectionsClient({ url: new URL("http://localhost:3000"), getToken: async () => "token" });

export async function main(): Promise<void> {
  const health = await refreshing.system.health.query();
  const status: "ok" = health.status;
  const page = await client.collections.list.query();
  for (const c of page.results) console.log(c.name, c.items + c.bytes, status);
  const tokens = await client.tokens.list.query();
  console.log(tokens.results.map((t) => t.expires_at ?? "never"));
  const written = await client.items.upsert.mutate({ name: "orders", items: [{ key: "a", value: { n: 1 } }] });
  const upserted: number = written.upserted;
  const [one, two] = await Promise.all([
    client.items.get.query({ name: "orders", limit: 10 }),
    client.items.get.query({ name: "orders", key: "a*", meta: true }),
  ]);
  console.log(upserted, one.results[0]?.value, two.cursor?.length);
  let count = 0;
  for await (const event of await client.items.stream.query({ name: "orders" })) {
    if (event.type === "items") count += event.results.length;
    else console.log(count, event.end_offset, event.cursor);
  }
  const input: RouterInputs["items"]["get"] = { name: "orders", offset: 5 };
  const output: RouterOutputs["collections"]["list"]["results"] = page.results;
  console.log(input, output);

  const changes = client.items.changes.subscribe(
    { name: "orders", key: "a*", since: "0" },
    { onData: ({ id, data }) => console.log(id, data.kind === "put" ? data.version + 1 : data.kind) },
  );
  changes.unsubscribe();

  // @ts-expect-error limit is a number
  await client.items.get.query({ name: "orders", limit: "ten" });
  // @ts-expect-error collections.list's limit too
  await client.collections.list.query({ limit: "ten" });
  // @ts-expect-error an upsert item is { key, value }
  await client.items.upsert.mutate({ name: "orders", items: [{ kye: 1 }] });
  // @ts-expect-error the collection name is required
  await client.items.get.query({ limit: 1 });
  // @ts-expect-error there is no such procedure
  await client.items.list.query({ name: "orders" });
  // @ts-expect-error the change feed is a subscription
  await client.items.changes.query({ name: "orders" });
  // @ts-expect-error a query, not a mutation
  await client.collections.list.mutate();

  try {
    await client.tokens.create.mutate({ label: "nightly", expires_in: 3600 });
  } catch (err) {
    if (!isCollectionsClientError(err) || !err.data) throw err;
    const code: ErrorCode = err.data.code;
    const issues: Issue[] = err.data.issues;
    const httpStatus: number = err.data.httpStatus;
    // @ts-expect-error the code is one of the service's codes
    const wrong: typeof err.data.code = "NOPE";
    console.log(code === "BAD_REQUEST", issues.map((i) => \`\${i.path}: \${i.message}\`), httpStatus, wrong);
  }
}
`;

const compilerOptions = {
  target: "ES2022",
  lib: ["ES2022", "DOM"],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
};

let project: string;
beforeAll(() => {
  // The declarations of the current sources (npm install and `npm run build` make them too).
  execFileSync(process.execPath, ["scripts/build-types.mjs"], { cwd: root, stdio: "pipe" });
  project = mkdtempSync(join(tmpdir(), "collections-client-"));
  mkdirSync(join(project, "node_modules"));
  symlinkSync(root, join(project, "node_modules/collections-service"), "dir");
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "a-client", private: true, type: "module" }),
  );
  writeFileSync(join(project, "client.ts"), clientSource);
  const tsconfig = (options: object) =>
    JSON.stringify({ compilerOptions: { ...compilerOptions, ...options }, files: ["client.ts"] });
  writeFileSync(
    join(project, "tsconfig.json"),
    tsconfig({ module: "NodeNext", moduleResolution: "NodeNext" }),
  );
  // Resolvers that ignore "exports" find the declarations through "typesVersions".
  writeFileSync(
    join(project, "tsconfig.node10.json"),
    tsconfig({ module: "CommonJS", moduleResolution: "Node10" }),
  );
}, 180_000);
afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

/** tsc on the client project: its exit status, output, and the files of the repository it read. */
function typeCheck(tsconfig: string): { status: number | null; output: string; repoFiles: string[] } {
  const run = spawnSync(process.execPath, [tsc, "-p", join(project, tsconfig), "--listFiles"], {
    encoding: "utf8",
  });
  const lines = run.stdout.split("\n").filter(Boolean);
  const repoFiles = lines
    .filter((f) => f.startsWith(root) && !f.startsWith(join(root, "node_modules")))
    .map((f) => relative(root, f));
  return {
    status: run.status,
    output: lines.filter((l) => !l.startsWith("/")).join("\n") + run.stderr,
    repoFiles,
  };
}

describe("the package's ./client export", () => {
  it("a strict client project type-checks against the declarations; every wrong input is refused", () => {
    const result = typeCheck("tsconfig.json");
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
    expect(result.repoFiles.length).toBeGreaterThan(0);
    for (const file of result.repoFiles) expect(file).toMatch(/^dist\/types\/.*\.d\.ts$/);
  }, 120_000);

  it("also through typesVersions, for resolvers that ignore exports", () => {
    const result = typeCheck("tsconfig.node10.json");
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
    expect(result.repoFiles).toContain("dist/types/client/index.d.ts");
    for (const file of result.repoFiles) expect(file).toMatch(/^dist\/types\//);
  }, 120_000);

  it("the declarations name contracts and procedure records only: no server context, database or Prisma types", () => {
    const dir = join(root, "dist/types");
    const files = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath, e.name)));
    expect(files).toContain("client/index.d.ts");
    for (const file of files) {
      expect(file).toMatch(/^(client|contracts|server\/routers)\/[\w/-]+\.d\.ts$/);
      expect(readFileSync(join(dir, file), "utf8")).not.toMatch(
        /context\.js|\/db\.js|generated|@prisma|services\//,
      );
    }
  });

  it("the runtime module imports @trpc/client and nothing else", () => {
    const js = readFileSync(join(root, "dist/client/index.js"), "utf8");
    const imports = [...js.matchAll(/\bfrom\s*"([^"]+)"|\bimport\s*\(\s*"([^"]+)"/g)].map(
      (m) => m[1] ?? m[2],
    );
    expect([...new Set(imports)]).toEqual(["@trpc/client"]);
  });

  it("package.json exports the client's types and module, and the files they need", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(pkg.exports["./client"]).toEqual({
      types: "./dist/types/client/index.d.ts",
      import: "./dist/client/index.js",
    });
    expect(pkg.files).toContain("dist");
  });
});

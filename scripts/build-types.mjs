// `npm run build:types` (also run by `npm run build` and npm install's postinstall): the declarations of
// the package's `./client` export, so that a TypeScript client type-checks against them rather than the
// server's sources. tsc emits declarations for everything client/index.ts reaches (tsconfig.build.json,
// without checking bodies: `npm run typecheck` does that) into a cache; dist/types receives only the files
// that client/index.d.ts references, which name contracts and @trpc/server types, never the server's context.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const staging = join(root, "node_modules/.cache/collections-service/types");
const out = join(root, "dist/types");
const entry = "client/index.d.ts";

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  // An install without devDependencies: the service runs without the declarations.
  console.warn(
    "build:types: typescript is not installed; the declarations of collections-service/client were not built",
  );
  process.exit(0);
}

const started = performance.now();
rmSync(staging, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
  cwd: root,
  stdio: "inherit",
});

/** The relative module specifiers of a declaration file: `from "./x.js"` and `import("../y.js")`. */
const relativeImports = (text) =>
  [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);

rmSync(out, { recursive: true, force: true });
const pending = [entry];
const copied = new Set();
while (pending.length > 0) {
  const file = pending.pop();
  if (copied.has(file)) continue;
  const source = join(staging, file);
  if (!existsSync(source)) throw new Error(`build:types: ${file} is referenced but was not emitted`);
  copied.add(file);
  mkdirSync(dirname(join(out, file)), { recursive: true });
  copyFileSync(source, join(out, file));
  for (const specifier of relativeImports(readFileSync(source, "utf8"))) {
    pending.push(posix.normalize(posix.join(posix.dirname(file), specifier.replace(/\.js$/, ".d.ts"))));
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.error(`build:types: ${copied.size} declaration files in dist/types (${seconds} s)`);

// `npm run build` (also run by npm install's postinstall): compiles the service, the admin CLI and the
// package's `./client` module to dist/ with esbuild, so that `npm start` and the `collections-admin` bin
// run plain JavaScript with Node. Our own code (including the generated Prisma client) is bundled into one
// file per entry point, which is what makes the CLI start fast; packages stay in node_modules and are
// imported at run time.
import { build } from "esbuild";
import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = `${root}dist`;
// Built into a staging folder, then renamed into place file by file: a process starting from dist/ while
// a build runs (tests, a second terminal) sees either the old or the new files, never a half-empty
// folder. dist/types holds the client's declarations (scripts/build-types.mjs, a slower step of its own).
const staging = `${outdir}/.staging-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });

await build({
  absWorkingDir: root,
  entryPoints: {
    main: "server/main.ts",
    admin: "server/cli/admin.ts",
    migrate: "server/cli/migrate.ts",
  },
  outdir: staging,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
  banner: { js: "#!/usr/bin/env node" },
});

// dist/client/index.js: the package's `./client` export, for Node and browsers. Its own bundle: it shares no
// chunk with the service and imports nothing of the server (only @trpc/client).
await build({
  absWorkingDir: root,
  entryPoints: ["client/index.ts"],
  outfile: `${staging}/client/index.js`,
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
});

// dist/admin.js is the package's `collections-admin` bin.
chmodSync(`${staging}/admin.js`, 0o755);

/** Moves every file of `from` to the same place under `to` (rename replaces atomically). */
function moveInto(from, to) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) moveInto(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else renameSync(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}
const current = new Set(readdirSync(`${staging}/chunks`));
// Chunks first (content-hashed names), then the entry points that import them.
moveInto(`${staging}/chunks`, `${outdir}/chunks`);
moveInto(staging, outdir);
rmSync(staging, { recursive: true, force: true });
// Chunks of earlier builds stay a while for processes that started from them and import lazily.
for (const name of readdirSync(`${outdir}/chunks`)) {
  const file = `${outdir}/chunks/${name}`;
  if (!current.has(name) && Date.now() - statSync(file).mtimeMs > 3_600_000) rmSync(file, { force: true });
}

// `npm run build` (also run by npm install's postinstall): compiles the service and the admin CLI to
// dist/ with esbuild, so that `npm start` and the `collections-admin` bin run plain JavaScript with
// Node. Our own code (including the generated Prisma client) is bundled into one file per entry point,
// which is what makes the CLI start fast; packages stay in node_modules and are imported at run time.
import { build } from "esbuild";
import { chmodSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = `${root}dist`;
rmSync(outdir, { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: {
    main: "server/main.ts",
    admin: "server/cli/admin.ts",
    migrate: "server/cli/migrate.ts",
  },
  outdir,
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

// dist/admin.js is the package's `collections-admin` bin.
chmodSync(`${outdir}/admin.js`, 0o755);

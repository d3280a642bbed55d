// npm install's postinstall: builds the Prisma client (server/generated/prisma) from schema.prisma.
// `prisma generate` never runs the schema engine, but the CLI insists on finding its binary, which
// cannot be downloaded here; PRISMA_SCHEMA_ENGINE_BINARY (a documented variable) names a stand-in.
import { spawnSync } from "node:child_process";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const standIn = join(mkdtempSync(join(tmpdir(), "prisma-engine-")), "schema-engine");
writeFileSync(
  standIn,
  "#!/bin/sh\necho 'the schema engine runs as WebAssembly in this project (server/migrate.ts)' >&2\nexit 1\n",
  { mode: 0o755 },
);
const result = spawnSync("npx", ["--no-install", "prisma", "generate"], {
  stdio: "inherit",
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: standIn,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
  },
});
process.exit(result.status ?? 1);

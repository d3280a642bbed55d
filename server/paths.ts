import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// The package's root folder (where package.json and prisma/ are), found from this module's location
// whether it runs as TypeScript under server/ or bundled under dist/ (or one of its chunk folders).
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "collections-service"
    )
      return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(
        "package root of collections-service not found above " + fileURLToPath(import.meta.url),
      );
    dir = parent;
  }
}

export const packageRoot = findPackageRoot();

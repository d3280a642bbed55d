import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The node options `npm start` runs the service with (package.json's start script, `exec node <options>
 * dist/main.js`), so that whatever else starts the compiled service (the tests' server processes, the
 * benchmarks) runs it as an operator does. Read from package.json: the start script is the one place
 * they are written.
 */
export function serviceNodeFlags(): string[] {
  const pkg = JSON.parse(
    readFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), "utf8"),
  ) as {
    scripts: { start: string };
  };
  const match = /^exec node((?: --[\w-]+(?:=\S+)?)*) dist\/main\.js$/.exec(pkg.scripts.start);
  if (!match) throw new Error(`package.json's start script is not "exec node [--option…] dist/main.js"`);
  return match[1]!.split(" ").filter(Boolean);
}

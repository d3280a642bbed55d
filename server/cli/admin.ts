import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../paths.js";
import { parseArgs, UsageError, type Invocation } from "./args.js";
import { commandHelp, PROGRAM, toolHelp, usageErrorText } from "./help.js";

// The admin CLI, `collections-admin` (the package's bin, dist/admin.js) or `npm run -s admin --`:
// one JSON document on stdout; on stderr the storage it opened, audit lines and messages. Exit codes:
// 0 done, 1 failed, 2 usage error. Only the argument parser and the help are loaded up front: the
// configuration, the handlers and the database drivers are imported once a command is known to be
// well formed (`--help` and usage errors stay fast).

const FAILED = 1;
const USAGE = 2;

async function main(argv: string[]): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(usageErrorText(e.message, e.command));
    return USAGE;
  }
  if (invocation.kind === "help") {
    process.stdout.write(invocation.command ? commandHelp(invocation.command) : toolHelp());
    return 0;
  }
  if (invocation.kind === "version") {
    const { version } = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as {
      version: string;
    };
    process.stdout.write(`${PROGRAM} ${version}\n`);
    return 0;
  }
  const { runCommand } = await import("./run.js");
  return runCommand(invocation.command, invocation.flags, { usage: USAGE, failed: FAILED });
}

// A reader that stops early (`| head`, a jq error) is not this command's failure.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
});
process.exitCode = await main(process.argv.slice(2));

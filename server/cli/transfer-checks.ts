import { statSync } from "node:fs";
import { dirname } from "node:path";
import { invalidParameter } from "../errors.js";
import type { Flags } from "./args.js";

// The checks of collection:export and collection:import that run before any storage is opened (a bad
// value is a usage error, exit 2): where the output goes, what the input is.

export const exportCheck = (f: Flags): void => {
  if (f.out !== undefined) {
    const dir = dirname(f.out);
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      /* not there */
    }
    if (!isDir) throw invalidParameter("out", `the directory of '${f.out}' does not exist`);
  }
};

export const importCheck = (f: Flags): void => {
  if (f.file !== undefined) {
    let isFile = false;
    try {
      isFile = statSync(f.file).isFile();
    } catch {
      /* not there */
    }
    if (!isFile) throw invalidParameter("file", `'${f.file}' is not a file that can be read`);
  } else if (process.stdin.isTTY) {
    throw invalidParameter("file", "give --file, or pipe the NDJSON to stdin");
  }
};

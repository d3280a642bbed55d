import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { chromium } from "playwright-core";
import { browserTestEnv } from "./env.js";

// Which Chromium the browser test drives, looked for in this order:
// 1. CHROMIUM_PATH, when set (a path that does not run is an error, not a reason to skip);
// 2. the browser playwright-core itself would launch (`chromium.executablePath()`: where
//    `npx playwright install chromium` puts it, or PLAYWRIGHT_BROWSERS_PATH);
// 3. `chromium` (Debian's package), `chromium-browser`, `google-chrome-stable` or `google-chrome` on PATH.

export const HOW_TO_PROVIDE_A_BROWSER =
  "install Debian's chromium (apt-get install chromium; .ci/run does), set CHROMIUM_PATH=/path/to/chrome, " +
  "or run npx playwright install chromium";

const commandsOnPath = ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome"];

export type BrowserLookup =
  { found: true; executablePath: string; from: string } | { found: false; reason: string };

const isExecutableFile = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

export function findChromium(): BrowserLookup {
  const { chromiumPath, path } = browserTestEnv();
  if (chromiumPath) {
    if (isExecutableFile(chromiumPath))
      return { found: true, executablePath: chromiumPath, from: "CHROMIUM_PATH" };
    throw new Error(`CHROMIUM_PATH=${chromiumPath} is not an executable file`);
  }
  const playwrights = chromium.executablePath();
  if (playwrights && isExecutableFile(playwrights))
    return { found: true, executablePath: playwrights, from: "playwright-core" };
  for (const command of commandsOnPath) {
    for (const dir of path.split(delimiter).filter(Boolean)) {
      const candidate = join(dir, command);
      if (isExecutableFile(candidate))
        return { found: true, executablePath: candidate, from: `${command} on PATH` };
    }
  }
  return { found: false, reason: `no Chromium found: ${HOW_TO_PROVIDE_A_BROWSER}` };
}

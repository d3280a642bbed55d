import { readFileSync, writeFileSync } from "node:fs";
import { renderPicture } from "./lib/picture.js";
import type { Figures } from "./lib/report.js";

// `npx tsx bench/picture.ts bench/results/<run>.json …`: draws the picture of a run again from the figures
// written beside it (<run>.svg), e.g. after a change of bench/lib/picture.ts.

for (const file of process.argv.slice(2)) {
  const run = JSON.parse(readFileSync(file, "utf8")) as {
    date: string;
    storage: string;
    quick: boolean;
    figures: Figures;
  };
  const svg = file.replace(/\.json$/, ".svg");
  const title = `${run.storage === "postgresql" ? "PostgreSQL" : "Embedded"} run${run.quick ? " (--quick)" : ""}, ${run.date.slice(0, 16).replace("T", " ")} UTC`;
  writeFileSync(svg, renderPicture(run.figures, title, run.storage === "postgresql"));
  console.log(`wrote ${svg}`);
}

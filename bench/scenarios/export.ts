import http from "node:http";
import { peakRssDuring } from "../lib/processes.js";
import type { StreamFigures } from "./stream.js";

// Scenario "export" (SPEC §9.4): GET /collections/{name}/export read to the end, NDJSON lines counted,
// against the same COPY … TO STDOUT baseline as the stream scenario (scenarios/stream.ts).

interface ExportRead {
  status: number;
  bytes: number;
  lines: number;
  firstByteMs: number;
  totalMs: number;
  contentType: string | undefined;
}

function readExport(url: string, headers: Record<string, string>): Promise<ExportRead> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    let firstByteMs = NaN;
    let bytes = 0;
    let lines = 0;
    const req = http.get(url, { headers, agent: false }, (res) => {
      res.on("data", (c: Buffer) => {
        if (bytes === 0) firstByteMs = elapsed();
        bytes += c.length;
        for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          lines,
          firstByteMs,
          totalMs: elapsed(),
          contentType: res.headers["content-type"],
        }),
      );
      res.on("error", reject);
      res.on("aborted", () => reject(new Error("response aborted")));
    });
    req.on("error", reject);
  });
}

export async function exportThroughService(
  baseUrl: string,
  token: string,
  collection: string,
  items: number,
  servicePid: number,
): Promise<StreamFigures> {
  const { result, peakRssMb, method } = await peakRssDuring(servicePid, () =>
    readExport(`${baseUrl}/collections/${collection}/export`, { authorization: `Bearer ${token}` }),
  );
  if (result.status !== 200) throw new Error(`export answered ${result.status}`);
  if (result.contentType !== "application/x-ndjson") throw new Error(`export answered ${result.contentType}`);
  if (result.lines !== items) throw new Error(`export sent ${result.lines} lines, expected ${items}`);
  const seconds = result.totalMs / 1000;
  return {
    items,
    bytes: result.bytes,
    seconds,
    mbPerSec: result.bytes / 1e6 / seconds,
    itemsPerSec: items / seconds,
    firstByteMs: result.firstByteMs,
    peakRssMb,
    peakRssMethod: method,
  };
}

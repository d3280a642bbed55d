import { rmSync } from "node:fs";
import { afterAll, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import { startServerProcess } from "../support/process.js";

// A log shipper that dies (stdout's reader gone, writes fail with EPIPE) must not turn a graceful stop
// into a hang: the service keeps serving and stops on SIGTERM with exit 0.

const dataDir = freshDataDir();
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it("keeps serving and stops cleanly after the reader of its stdout is gone", async () => {
  const server = await startServerProcess({ DATA_DIR: dataDir });
  server.child.stdout!.destroy();
  for (let i = 0; i < 50; i++) expect((await fetch(`${server.url}/health`)).status).toBe(200);
  const code = await stopWithin(server);
  expect(code).toBe(0);
});

it("stops cleanly when the reader goes away just as it is told to stop", async () => {
  for (let round = 0; round < 5; round++) {
    const server = await startServerProcess({ DATA_DIR: dataDir });
    await fetch(`${server.url}/health`);
    server.child.stdout!.destroy();
    expect(await stopWithin(server)).toBe(0);
  }
});

async function stopWithin(server: Awaited<ReturnType<typeof startServerProcess>>) {
  const code = await Promise.race([
    server.stop("SIGTERM"),
    new Promise<string>((resolve) => setTimeout(() => resolve("still running 15 s after SIGTERM"), 15_000)),
  ]);
  if (code !== 0) server.child.kill("SIGKILL");
  return code;
}

import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import {
  createMemoryTenant,
  dropMemoryTenant,
  measureRss,
  MiB,
  postLargeBody,
  startMeasuredServer,
  stopServer,
  type LargeBodyOutcome,
} from "../support/memory.js";

// SPEC §6 "Memory is bounded by configuration…", issue 11 defect 6: no request body is read before its
// caller is authenticated, and bodies of routes other than item writes are capped small. The server
// runs as a process of its own and its resident memory (RSS) is measured from outside while four
// unauthenticated clients each send a 60 MB body at once (written in 64 KiB chunks, so the clients stay
// small). Today's code read /tokens bodies (and tRPC's, up to MAX_BODY_BYTES = 64 MiB) before looking
// at the token: RSS 181 → 929 MiB.
//
// Runs on both storages (DATABASE_URL selects the PostgreSQL server). Each case gets a fresh server
// process, so that one case's garbage is not the next one's baseline.

const dataDir = freshDataDir();
const tag = randomUUID().slice(0, 8);
const BODY_BYTES = 60 * 1000 * 1000;
const CONCURRENT = 4;
/** What four refused requests may cost, at most (a server that reads them costs 4 × 60 MB and more). */
const MAX_GROWTH_MIB = 64;

type Server = Awaited<ReturnType<typeof startMeasuredServer>>;
let server: Server | undefined;

afterEach(async () => {
  await stopServer(server);
  server = undefined;
});

afterAll(async () => {
  await stopServer(server);
  rmSync(dataDir, { recursive: true, force: true });
  await dropMemoryTenant(tag);
});

const routes = [
  { route: "POST /tokens (trpc-to-openapi)", path: "/tokens", prefix: '{"label":"', suffix: '"}' },
  {
    route: "POST /collections/c (raw upsert)",
    path: "/collections/c",
    prefix: '{"items":[{"key":"k","value":"',
    suffix: '"}]}',
  },
  {
    route: "POST /trpc/items.upsert",
    path: "/trpc/items.upsert",
    prefix: '{"name":"c","items":[{"key":"k","value":"',
    suffix: '"}]}',
  },
  {
    route: "POST /lightning/collections/c",
    path: "/lightning/collections/c",
    prefix: '{"items":[{"key":"k","value":"',
    suffix: '"}]}',
  },
];

/** Half the clients send no Authorization header, the other half a token that does not verify. */
const unauthenticatedHeaders = (i: number): Record<string, string> =>
  i % 2 === 0
    ? {}
    : { authorization: "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.bm90LWEtc2lnbmF0dXJl" };

/** Small requests to every route, so that lazily loaded code is loaded before the baseline. */
async function warmUp(url: string): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await fetch(`${url}/health`).then((r) => r.text());
    for (const { path, prefix, suffix } of routes) {
      for (let i = 0; i < 2; i++) {
        const r = await postLargeBody(url, path, {
          totalBytes: 4096,
          prefix,
          suffix,
          headers: unauthenticatedHeaders(i),
        });
        expect(r.closed || r.status === 401, `warm-up ${path}: ${JSON.stringify(r)}`).toBe(true);
      }
    }
  }
}

describe("unauthenticated bodies are not read (issue 11 #6)", { timeout: 180_000 }, () => {
  for (const { route, path, prefix, suffix } of routes) {
    it(`${CONCURRENT} concurrent unauthenticated 60 MB bodies to ${route}: 401 (or closed), RSS grows < ${MAX_GROWTH_MIB} MiB`, async () => {
      server = await startMeasuredServer({ DATA_DIR: dataDir });
      await warmUp(server.url);
      const url = server.url;
      const { report, result } = await measureRss(
        `#6 ${CONCURRENT} × 60 MB unauthenticated ${route}`,
        server.pid,
        () =>
          Promise.all(
            Array.from({ length: CONCURRENT }, (_, i): Promise<LargeBodyOutcome> =>
              postLargeBody(url, path, {
                totalBytes: BODY_BYTES,
                prefix,
                suffix,
                headers: unauthenticatedHeaders(i),
              }),
            ),
          ),
      );
      for (const [i, outcome] of result.entries()) {
        expect.soft(outcome.error === "timed out", `request ${i} timed out`).toBe(false);
        expect
          .soft(
            outcome.closed || outcome.status === 401,
            `request ${i}: ${JSON.stringify({ ...outcome, body: outcome.body.slice(0, 300) })}`,
          )
          .toBe(true);
      }
      expect
        .soft(report.growthMiB, `RSS ${report.baselineMiB} → ${report.peakMiB} MiB`)
        .toBeLessThan(MAX_GROWTH_MIB);
      // The answer came before the bodies were through: they were not read first.
      const sentBeforeAnswer = Math.max(...result.map((o) => o.sentBeforeAnswer));
      console.log(
        `[memory]   answers ${result.map((o) => (o.closed ? "closed" : o.status)).join(", ")}; at most ${(sentBeforeAnswer / MiB).toFixed(1)} MiB sent before the answer`,
      );
      expect
        .soft(
          sentBeforeAnswer,
          `a client had sent ${(sentBeforeAnswer / MiB).toFixed(1)} MiB of its body before the answer`,
        )
        .toBeLessThan(BODY_BYTES);
      // The server still serves.
      expect((await fetch(`${url}/health`)).status).toBe(200);
    });
  }

  it("an authenticated POST /tokens with a 1 MB body is 413 (small-body cap, MAX_SMALL_BODY_BYTES 64 KiB by default)", async () => {
    server = await startMeasuredServer({ DATA_DIR: dataDir });
    const tenant = await createMemoryTenant(dataDir, tag, server.url);
    const { report, result } = await measureRss("#6 authenticated 1 MB POST /tokens", server.pid, () =>
      postLargeBody(server!.url, "/tokens", {
        totalBytes: 1000 * 1000,
        prefix: '{"label":"',
        suffix: '"}',
        headers: tenant.headers,
      }),
    );
    expect(result.closed ? "closed" : result.status, result.body.slice(0, 300)).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    expect(report.growthMiB).toBeLessThan(MAX_GROWTH_MIB);
    // A small body on the same route is still fine.
    const small = await fetch(`${server.url}/tokens`, {
      method: "POST",
      headers: { ...tenant.headers, "content-type": "application/json" },
      body: JSON.stringify({ label: "small", scope: "read", expires_in: 60 }),
    });
    expect(small.status).toBe(200);
  });
});

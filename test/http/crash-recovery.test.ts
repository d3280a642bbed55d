import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testEnv } from "../support/env.js";
import { startServerProcess, type ServerProcess } from "../support/process.js";
import { createTestServices, freshDataDir } from "../support/services.js";
import { sleep } from "../support/sockets.js";
import { createTenant, type Tenant } from "../support/tenant.js";

// SPEC §7: the embedded data directory survives `kill -9` of the server at any moment: every write that
// was acknowledged is there after a restart. Eight clients write (new keys, and one key each that they
// overwrite with an increasing counter) while the compiled server is SIGKILLed at a random moment; it is
// restarted on the same DATA_DIR and the data checked; three rounds. On a PostgreSQL server the same
// test checks that the service acknowledges a write only once it is committed.

const WRITERS = 8;
const ROUNDS = 3;
const dataDir = freshDataDir();
const storage = testEnv().DATABASE_URL ? "postgres" : "embedded";
let tenant: Tenant;
let name: string;

beforeAll(async () => {
  // The tenant is made in-process, then the directory (signing key, embedded data) is handed to the server process.
  const services = await createTestServices({ DATA_DIR: dataDir });
  try {
    tenant = await createTenant(services);
    name = await tenant.collection();
  } finally {
    await services.close();
  }
});

afterAll(async () => {
  if (tenant) {
    const cleanup = await createTestServices({ DATA_DIR: dataDir });
    const userIds = [...Object.values(tenant.users), tenant.outsider].map((u) => u.id);
    await cleanup.db.prisma.project.deleteMany({ where: { id: tenant.project.id } });
    await cleanup.db.prisma.user.deleteMany({ where: { id: { in: userIds } } });
    await cleanup.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

type Value = { w: number; i: number; round: number } | { n: number };

/** What the clients sent and what the server acknowledged, over every round. */
class Ledger {
  /** Every key ever sent, with every value sent for it. */
  sent = new Map<string, Value[]>();
  /** New keys, with the value of the acknowledged write (each is written once). */
  acked = new Map<string, Value>();
  /** Writer w's own key: the counter of its last acknowledged write, and of its last sent one. */
  counters = Array.from({ length: WRITERS }, () => ({ acked: -1, sent: -1 }));

  send(items: { key: string; value: Value }[]) {
    for (const { key, value } of items) this.sent.set(key, [...(this.sent.get(key) ?? []), value]);
  }
}

async function writer(
  url: string,
  w: number,
  round: number,
  ledger: Ledger,
  killed: () => boolean,
): Promise<number> {
  let acknowledged = 0;
  for (let i = 0; ; i++) {
    const counter = ledger.counters[w]!.sent + 1;
    const fresh = Array.from({ length: 5 }, (_, j) => ({
      key: `r${round}-w${w}-${i}-${j}`,
      value: { w, i: i * 5 + j, round },
    }));
    const items: { key: string; value: Value }[] = [
      ...fresh,
      { key: `counter-w${w}`, value: { n: counter } },
    ];
    ledger.send(items);
    ledger.counters[w]!.sent = counter;
    let status: number;
    try {
      const res = await fetch(`${url}/collections/${name}`, {
        method: "POST",
        headers: { ...tenant.users.editor.headers, "content-type": "application/json" },
        body: JSON.stringify(items),
      });
      await res.text();
      status = res.status;
    } catch (e) {
      if (killed()) return acknowledged; // the connection died with the server: this write is unknown
      throw e;
    }
    if (status !== 200 && status !== 201)
      throw new Error(`round ${round}, writer ${w}: a write answered ${status}`);
    for (const { key, value } of fresh) ledger.acked.set(key, value);
    ledger.counters[w]!.acked = counter;
    acknowledged++;
  }
}

/** Every item of the collection, through the restarted server. */
async function readAll(url: string): Promise<Map<string, Value>> {
  const res = await fetch(`${url}/collections/${name}`, { headers: tenant.users.viewer.headers });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { results: { key: string; value: Value }[] };
  return new Map(body.results.map((r) => [r.key, r.value]));
}

function check(stored: Map<string, Value>, ledger: Ledger, round: number) {
  const lost = [...ledger.acked].filter(
    ([key, value]) => JSON.stringify(stored.get(key)) !== JSON.stringify(value),
  );
  expect(
    lost.map(([key]) => key),
    `round ${round}: acknowledged writes missing or changed`,
  ).toEqual([]);
  for (let w = 0; w < WRITERS; w++) {
    const { acked, sent } = ledger.counters[w]!;
    const value = stored.get(`counter-w${w}`) as { n: number } | undefined;
    if (acked < 0) continue;
    // At least as new as the last acknowledged write; newer only by a write that was sent (unacknowledged).
    expect(value?.n, `round ${round}, counter of writer ${w}`).toBeGreaterThanOrEqual(acked);
    expect(value!.n).toBeLessThanOrEqual(sent);
  }
  const neverSent = [...stored].filter(
    ([key, value]) => !ledger.sent.get(key)?.some((v) => JSON.stringify(v) === JSON.stringify(value)),
  );
  expect(neverSent, `round ${round}: values that no client sent`).toEqual([]);
}

describe(`kill -9 during concurrent writes (${storage} storage)`, () => {
  it("keeps every acknowledged write, three rounds", async () => {
    const ledger = new Ledger();
    let server: ServerProcess = await startServerProcess({ DATA_DIR: dataDir });
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        let killed = false;
        const acknowledgedBefore = ledger.acked.size;
        const writers = Array.from({ length: WRITERS }, (_, w) =>
          writer(server.url, w, round, ledger, () => killed),
        );
        // A random moment once writes flow (the first ones of a fresh process are slow).
        while (ledger.acked.size < acknowledgedBefore + 5 * WRITERS) await sleep(10);
        const killAfterMs = Math.floor(Math.random() * 1000);
        await sleep(killAfterMs);
        killed = true;
        server.child.kill("SIGKILL");
        expect(await server.exited).toBeNull(); // ended by the signal, not by an exit of its own
        const acknowledged = await Promise.all(writers);
        expect(
          acknowledged.reduce((a, b) => a + b),
          `round ${round}: writes acknowledged before the kill at ${killAfterMs} ms`,
        ).toBeGreaterThan(0);

        server = await startServerProcess({ DATA_DIR: dataDir });
        check(await readAll(server.url), ledger, round);
      }
    } finally {
      await server.stop(); // (its exit code is checked below; a failure above must not be masked)
    }
    expect(await server.exited).toBe(0);
  });
});

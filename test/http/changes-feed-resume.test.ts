import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect } from "vitest";
import { createCollectionsClient, FetchEventSource, type ChangeMessage } from "../../client/index.js";
import { Prisma } from "../../server/generated/prisma/client.js";
import { usingPostgresServer } from "../support/env.js";
import { test } from "../support/fixtures.js";
import { call, seed } from "../support/items.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { freshDataDir } from "../support/services.js";
import { nextEvent, openSse, type FeedEvent } from "../support/sse.js";
import { createTenant, type Tenant, type TenantUser } from "../support/tenant.js";

// SPEC §9.3, resuming the change feed: a consumer that disconnects at random points and resumes with
// Last-Event-ID while 4 writers write and delete gets every change exactly once, in commit order per key
// (the "done when", SOAK_SECONDS long); the same across a server restart (same database or
// DATA_DIR) and, on PostgreSQL, across two instances; the tRPC subscription and the typed client's
// EventSource resume the same way.

/** How long the 4 writers write (the issue: 20 s). CHANGES_SOAK_SECONDS overrides it for a local run. */
const SOAK_SECONDS = Number(process.env.CHANGES_SOAK_SECONDS ?? 20);

const it = test;
// Heartbeats often: a consumer that has caught up checks whether it is done at each one.
const feedEnv = { CHANGES_POLL_MS: "25", CHANGES_HEARTBEAT_MS: "200" };
it.override({ serverEnv: feedEnv });

const collectionIdOf = async (server: TestServer, tenant: Tenant, name: string) =>
  (
    await server.services.db.prisma.collection.findFirstOrThrow({
      where: { name, projectId: tenant.project.id },
      select: { id: true },
    })
  ).id;

interface LoggedChange {
  key: string;
  kind: string;
  version: string;
  value: string | null;
}
/** The collection's change log in feed order. */
const logOf = (server: TestServer, collectionId: string) =>
  server.services.db.sql.query<LoggedChange>(Prisma.sql`
    SELECT key, kind::text AS kind, version::text AS version, value FROM item_changes c
    WHERE collection_id = ${collectionId}::uuid ORDER BY c.xid, c.version`);

/**
 * A consumer of the SSE feed of `name` that disconnects at random points (after a random number of events,
 * or at a random moment, possibly within an event) and resumes with the last id it received, on the server
 * `at()` names for each connection, until `done(events)`.
 */
async function consume(
  at: () => TestServer,
  user: TenantUser,
  name: string,
  done: (events: FeedEvent[]) => Promise<boolean> | boolean,
  from = "0",
): Promise<{ events: FeedEvent[]; connections: number }> {
  const events: FeedEvent[] = [];
  let lastId = from;
  let connections = 0;
  while (!(await done(events))) {
    connections++;
    const feed = await openSse(`${at().url}/collections/${name}/changes`, {
      ...user.headers,
      "last-event-id": lastId,
    });
    if (feed.status !== 200) throw new Error(`feed answered ${feed.status}: ${feed.text}`);
    const quota = 1 + Math.floor(Math.random() * 40);
    const cut = Math.random() < 0.3 ? setTimeout(() => feed.close(), Math.random() * 100) : undefined;
    for (let n = 0; n < quota;) {
      const message = await feed.next();
      if (message === null) break; // cut by the timer, or the server ended the stream
      if (message.event === undefined || message.data === undefined) {
        // A heartbeat (the feed has caught up): done, once the writers have stopped.
        if (message.comments.length > 0 && (await done(events))) break;
        continue;
      }
      events.push({
        event: message.event as FeedEvent["event"],
        id: message.id!,
        text: message.data,
        data: JSON.parse(message.data),
      });
      lastId = message.id!;
      n++;
      if (await done(events)) break;
    }
    clearTimeout(cut);
    feed.close();
  }
  return { events, connections };
}

/** Random writes and deletes through REST (batches, single and pattern deletes) and Lightning, until `until`. */
async function writer(
  at: () => TestServer,
  user: TenantUser,
  name: string,
  w: number,
  until: () => boolean,
): Promise<number> {
  let ops = 0;
  const key = () => `k${Math.floor(Math.random() * 20)}`;
  while (!until()) {
    const server = at();
    const roll = Math.random();
    let r;
    if (roll < 0.5) {
      const keys = [...new Set(Array.from({ length: 1 + Math.floor(Math.random() * 4) }, key))];
      r = await call(
        server,
        user,
        "POST",
        `/collections/${name}`,
        keys.map((k) => ({ key: k, value: { w, ops } })),
      );
    } else if (roll < 0.7) {
      r = await call(server, user, "DELETE", `/collections/${name}/${key()}`);
    } else if (roll < 0.8) {
      r = await call(server, user, "DELETE", `/collections/${name}/k${Math.floor(Math.random() * 2)}*`);
    } else {
      r = await call(server, user, "PUT", `/lightning/collections/${name}/${key()}`, {
        value: `w${w}.${ops}`,
      });
    }
    expect(r.status, r.text).toBeLessThan(300);
    ops++;
  }
  return ops;
}

/**
 * The events are the log, change for change in feed order (so: every change once, none lost, in commit
 * order per key), ids all different, versions growing per key, and each key's last event its final state.
 */
async function expectEveryChangeOnce(server: TestServer, tenant: Tenant, name: string, events: FeedEvent[]) {
  const log = await logOf(server, await collectionIdOf(server, tenant, name));
  expect(events.length).toBe(log.length);
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  const seen = events.map((e) => [
    e.data.key,
    e.event,
    String(e.data.version),
    e.event === "put" ? JSON.stringify(e.data.value) : null,
  ]);
  const logged = log.map((c) => [
    c.key,
    c.kind === "put" ? "put" : "delete",
    c.version,
    c.value === null ? null : JSON.stringify(JSON.parse(c.value)),
  ]);
  expect(seen).toEqual(logged);
  const last = new Map<string, FeedEvent>();
  const versions = new Map<string, number>();
  for (const e of events) {
    expect(e.data.version, e.data.key).toBeGreaterThan(versions.get(e.data.key) ?? 0);
    versions.set(e.data.key, e.data.version);
    last.set(e.data.key, e);
  }
  const items = await call(server, tenant.users.viewer, "GET", `/collections/${name}`);
  const live = new Map<string, unknown>(
    items.body.results.map((i: { key: string; value: unknown }) => [i.key, i.value]),
  );
  for (const [key, e] of last) {
    if (e.event === "put") expect(live.get(key), key).toEqual(e.data.value);
    else expect(live.has(key), key).toBe(false);
  }
  for (const key of live.keys()) expect(last.get(key)?.event, key).toBe("put");
}

describe("resuming the change feed with Last-Event-ID", () => {
  it(
    `4 writers for ${SOAK_SECONDS} s, a consumer that disconnects at random: every change exactly once, in commit order per key`,
    { timeout: (SOAK_SECONDS + 200) * 1000 },
    async ({ server, tenant }) => {
      const name = await tenant.collection();
      const stopAt = Date.now() + SOAK_SECONDS * 1000;
      let writing = true;
      const writers = Promise.all(
        [0, 1, 2, 3].map((w) =>
          writer(
            () => server,
            tenant.users.editor,
            name,
            w,
            () => Date.now() >= stopAt,
          ),
        ),
      ).finally(() => (writing = false));
      const collectionId = await collectionIdOf(server, tenant, name);
      // Done once the writers have stopped and every logged change has been received.
      const consumer = consume(
        () => server,
        tenant.users.viewer,
        name,
        async (events) => !writing && events.length >= (await logOf(server, collectionId)).length,
      );
      const ops = await writers;
      const { events, connections } = await consumer;
      expect(ops.every((n) => n > 0)).toBe(true);
      expect(connections).toBeGreaterThan(1);
      await expectEveryChangeOnce(server, tenant, name, events);
    },
  );

  it(
    "across a server restart on the same database (embedded: the same DATA_DIR)",
    { timeout: 180_000 },
    async () => {
      const dataDir = usingPostgresServer() ? undefined : freshDataDir();
      const env = { ...feedEnv, ...(dataDir ? { DATA_DIR: dataDir } : {}) };
      let server = await startTestServer(env);
      const tenant = await createTenant(server.services);
      const name = await tenant.collection();
      const userIds = [...Object.values(tenant.users), tenant.outsider].map((u) => u.id);
      try {
        const write = async (from: number, n: number) => {
          for (let i = from; i < from + n; i++) {
            const k = `k${i % 7}`;
            const r =
              i % 5 === 4
                ? await call(server, tenant.users.editor, "DELETE", `/collections/${name}/${k}`)
                : await call(server, tenant.users.editor, "POST", `/collections/${name}`, [
                    { key: k, value: i },
                  ]);
            expect(r.status).toBeLessThan(300);
          }
        };
        await write(0, 30);
        const first = await openSse(
          `${server.url}/collections/${name}/changes?since=0`,
          tenant.users.viewer.headers,
        );
        const before: FeedEvent[] = [];
        for (let i = 0; i < 12; i++) before.push((await nextEvent(first))!);
        // The server stops while the feed is open: the feed ends (the stop does not wait for it).
        await server.close();
        const rest: FeedEvent[] = [];
        for (let e = await nextEvent(first); e !== null; e = await nextEvent(first)) rest.push(e);
        server = await startTestServer(env);
        await write(30, 30);
        // Resumed on the new server after the last event received from the old one, disconnecting at random.
        const total = (await logOf(server, await collectionIdOf(server, tenant, name))).length;
        const received = [...before, ...rest];
        const { events: after } = await consume(
          () => server,
          tenant.users.viewer,
          name,
          (events) => received.length + events.length >= total,
          received.at(-1)!.id,
        );
        await expectEveryChangeOnce(server, tenant, name, [...received, ...after]);
      } finally {
        await server.services.db.prisma.project.deleteMany({ where: { id: tenant.project.id } });
        await server.services.db.prisma.user.deleteMany({ where: { id: { in: userIds } } });
        await server.close();
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );

  it.runIf(usingPostgresServer())(
    "across two instances on one PostgreSQL database: writes on both, each reconnection on the other",
    { timeout: 180_000 },
    async ({ server: a, tenant }) => {
      const b = await startTestServer(feedEnv);
      try {
        const name = await tenant.collection();
        const servers = [a, b];
        let turn = 0;
        const stopAt = Date.now() + 5_000;
        let writing = true;
        const writers = Promise.all(
          [0, 1, 2, 3].map((w) =>
            writer(
              () => servers[w % 2]!,
              tenant.users.editor,
              name,
              w,
              () => Date.now() >= stopAt,
            ),
          ),
        ).finally(() => (writing = false));
        const collectionId = await collectionIdOf(a, tenant, name);
        const consumer = consume(
          () => servers[turn++ % 2]!,
          tenant.users.viewer,
          name,
          async (events) => !writing && events.length >= (await logOf(a, collectionId)).length,
        );
        await writers;
        const { events, connections } = await consumer;
        expect(connections).toBeGreaterThan(2);
        await expectEveryChangeOnce(a, tenant, name, events);
      } finally {
        await b.close();
      }
    },
  );
});

describe("the typed client: EventSource over fetch, and the tRPC subscription items.changes", () => {
  it("FetchEventSource resumes with Last-Event-ID after the connection is cut", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    // Written through the service: the cut below closes the test's own kept-alive connections too.
    const put = (key: string) => seed(server, name, tenant.project.id, [{ key, value: key }]);
    const source = new FetchEventSource(`${server.url}/collections/${name}/changes?since=0`, {
      headers: tenant.users.viewer.headers,
    });
    const keys: string[] = [];
    const ids: string[] = [];
    let errors = 0;
    source.addEventListener("put", (e) => {
      const m = e as Event & { data: string; lastEventId: string };
      keys.push(JSON.parse(m.data).key);
      ids.push(m.lastEventId);
    });
    source.addEventListener("error", () => errors++);
    const until = async (n: number) => {
      while (keys.length < n) await sleep(10);
    };
    try {
      await put("a");
      await put("b");
      await until(2);
      server.running.server.closeAllConnections(); // the feed's connection is cut
      await put("c");
      await until(3);
      await put("d");
      await until(4);
      expect(keys).toEqual(["a", "b", "c", "d"]);
      expect(new Set(ids).size).toBe(4);
      expect(errors).toBeGreaterThan(0); // it did reconnect
    } finally {
      source.close();
    }
  });

  it("items.changes: the same events as the REST feed, tracked ids, resumed with lastEventId and after a cut", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const editor = tenant.users.editor;
    await call(server, editor, "POST", `/collections/${name}`, [
      { key: "a", value: { n: 1 } },
      { key: "b", value: [2] },
    ]);
    await call(server, editor, "DELETE", `/collections/${name}/a`);
    const client = createCollectionsClient({ url: server.url, token: tenant.users.viewer.token });
    type Received = { id: string; data: ChangeMessage };
    const subscribe = (input: Parameters<typeof client.items.changes.subscribe>[0]) => {
      const got: Received[] = [];
      const errors: unknown[] = [];
      const sub = client.items.changes.subscribe(input, {
        onData: (m) => got.push(m as Received),
        onError: (e) => errors.push(e),
      });
      const changes = () => got.filter((m) => m.data.kind !== "ready");
      const until = async (n: number) => {
        while (changes().length < n && errors.length === 0) await sleep(10);
        if (errors.length) throw errors[0];
      };
      return { got, errors, changes, until, stop: () => sub.unsubscribe() };
    };

    const sse = await openSse(
      `${server.url}/collections/${name}/changes?since=0`,
      tenant.users.viewer.headers,
    );
    const rest = [(await nextEvent(sse))!, (await nextEvent(sse))!, (await nextEvent(sse))!];
    sse.close();
    const all = subscribe({ name, since: "0" });
    await all.until(3);
    expect(all.got[0]).toEqual({ id: "0", data: { kind: "ready" } });
    expect(all.changes()).toEqual(
      rest.map((e) => ({
        id: e.id,
        data:
          e.event === "put"
            ? {
                kind: "put",
                key: e.data.key,
                value: e.data.value,
                version: e.data.version,
                updated: e.data.updated,
              }
            : { kind: "delete", key: e.data.key, version: e.data.version, at: e.data.at },
      })),
    );
    // Resumed after the first change: the two after it, nothing before.
    const resumed = subscribe({ name, lastEventId: rest[0]!.id });
    await resumed.until(2);
    expect(resumed.changes().map((m) => m.id)).toEqual([rest[1]!.id, rest[2]!.id]);
    resumed.stop();
    // A cut connection: the link reconnects with the last id and loses nothing.
    server.running.server.closeAllConnections();
    await seed(server, name, tenant.project.id, [{ key: "c", value: 3 }]);
    await all.until(4);
    await seed(server, name, tenant.project.id, [{ key: "d", value: 4 }]);
    await all.until(5);
    expect(all.changes().map((m) => (m.data as { key: string }).key)).toEqual(["a", "b", "a", "c", "d"]);
    all.stop();

    // Refusals are the call's error, with the service's code.
    for (const [input, code, status] of [
      [{ name, since: "garbage" }, "BAD_REQUEST", 400],
      [{ name: "no-such-collection" }, "NOT_FOUND", 404],
    ] as const) {
      const failed = subscribe(input);
      while (failed.errors.length === 0) await sleep(10);
      expect((failed.errors[0] as { data?: unknown }).data).toMatchObject({ code, httpStatus: status });
      failed.stop();
    }
  });
});

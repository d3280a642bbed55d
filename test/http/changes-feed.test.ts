import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect } from "vitest";
import { Prisma } from "../../server/generated/prisma/client.js";
import { openStreamCount } from "../../server/http/stream-slots.js";
import { test } from "../support/fixtures.js";
import { call } from "../support/items.js";
import { rawRequest } from "../support/raw.js";
import type { TestServer } from "../support/server.js";
import { nextEvent, openSse, takeEvents, type SseFeed } from "../support/sse.js";
import type { TenantUser } from "../support/tenant.js";

// SPEC §9.3, the change feed: GET /collections/{name}/changes as Server-Sent Events and as long-poll JSON.
// One event per change (put, delete, pattern delete, Lightning write), values as stored, versions growing;
// where it starts (now, since=0, a cursor, Last-Event-ID); refusals (400, 401, 404, 410); the key filter;
// heartbeats; the routing of the `changes` segment. Resumption under load: changes-feed-resume.test.ts.

// Test-scoped: the feeds a test opened close when it ends.
const it = test.extend("feeds", { scope: "test" }, async ({ server }, { onCleanup }) => {
  const open: SseFeed[] = [];
  onCleanup(() => open.forEach((f) => f.close()));
  /** Opens the feed of `name` as `user` (query string and headers as given). */
  return async (
    user: TenantUser | undefined,
    name: string,
    query = "",
    headers: Record<string, string> = {},
  ) => {
    const feed = await openSse(`${server.url}/collections/${name}/changes${query}`, {
      ...(user?.headers ?? {}),
      ...headers,
    });
    open.push(feed);
    return feed;
  };
});
it.override({ serverEnv: { CHANGES_HEARTBEAT_MS: "50", CHANGES_POLL_MS: "25", STREAM_BATCH_BYTES: "1024" } });

const idOf = (server: TestServer, name: string, projectId: string) =>
  server.services.db.prisma.collection
    .findFirstOrThrow({ where: { name, projectId }, select: { id: true } })
    .then((c) => c.id);

/** The change log of a collection in feed order, as stored. */
async function logOf(server: TestServer, collectionId: string) {
  return server.services.db.sql.query<{ key: string; kind: string; version: string; xid: string }>(Prisma.sql`
    SELECT key, kind::text AS kind, version::text AS version, xid::text AS xid FROM item_changes c
    WHERE collection_id = ${collectionId}::uuid ORDER BY c.xid, c.version`);
}

/** Waits until no transaction that ended before this call holds the feed's horizon back. */
async function settled(server: TestServer): Promise<void> {
  const { sql } = server.services.db;
  const [{ xid }] = (await sql.query<{ xid: string }>(
    Prisma.sql`SELECT pg_current_xact_id()::text AS xid`,
  )) as [{ xid: string }];
  for (;;) {
    const [{ passed }] = (await sql.query<{ passed: boolean }>(
      Prisma.sql`SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint > ${xid}::bigint AS passed`,
    )) as [{ passed: boolean }];
    if (passed) return;
    await sleep(20);
  }
}

const post = (server: TestServer, user: TenantUser, name: string, body: string) =>
  rawRequest(
    server,
    "POST",
    `/collections/${name}`,
    { ...user.headers, "content-type": "application/json" },
    body,
  );

describe("GET /collections/{name}/changes: events", () => {
  it("an idle feed sends heartbeat comments; the open stream counts until the client goes", async ({
    server,
    tenant,
    feeds,
  }) => {
    const name = await tenant.collection();
    const before = openStreamCount(server.services); // 0: the file's first test
    const feed = await feeds(tenant.users.viewer, name);
    let message = await feed.next();
    while (message && message.comments.length === 0) message = await feed.next();
    expect(message!.comments).toEqual(["keep-alive"]);
    expect(openStreamCount(server.services)).toBe(before + 1);
    feed.close();
    for (let i = 0; i < 200 && openStreamCount(server.services) > before; i++) await sleep(10);
    expect(openStreamCount(server.services)).toBe(before);
  });

  it("a token revoked while its feed is open ends the feed, and the reconnection is refused", async ({
    server,
    tenant,
    feeds,
  }) => {
    const name = await tenant.collection();
    const minted = await fetch(`${server.url}/tokens`, {
      method: "POST",
      headers: { ...tenant.users.viewer.headers, "content-type": "application/json" },
      body: JSON.stringify({ label: "feed" }),
    });
    const { id, token } = (await minted.json()) as { id: string; token: string };
    const holder = { ...tenant.users.viewer, token, headers: { authorization: `Bearer ${token}` } };
    const feed = await feeds(holder, name);
    expect(await feed.next()).toMatchObject({ id: expect.any(String) });
    expect(
      (await fetch(`${server.url}/tokens/${id}`, { method: "DELETE", headers: holder.headers })).status,
    ).toBe(200);
    let message = await feed.next();
    while (message) message = await feed.next(); // heartbeats until the credentials are read again
    expect(message).toBeNull();
    const again = await feeds(holder, name);
    expect(again.status).toBe(401);
  });

  it("an event per put, delete, pattern delete and Lightning write: values as stored, versions growing", async ({
    server,
    tenant,
    feeds,
  }) => {
    const name = await tenant.collection();
    const editor = tenant.users.editor;
    const feed = await feeds(tenant.users.viewer, name, "?since=0");
    expect(feed.status).toBe(200);
    expect(feed.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(feed.headers.get("cache-control")).toBe("no-store");
    // The stream opens with its start position as an id, and no event.
    const opening = await feed.next();
    expect(opening).toEqual({ id: "0", comments: [] });

    const keyLs = "b\u2028x";
    expect(
      (await post(server, editor, name, `[{"key":"a","value":1.0},{"key":"${keyLs}","value":1e400}]`)).status,
    ).toBe(201);
    expect((await post(server, editor, name, `[{"key":"a","value":{"n":-0,"s":"\\u00e9"}}]`)).status).toBe(
      200,
    );
    const lightning = await rawRequest(
      server,
      "PUT",
      `/lightning/collections/${name}/l1`,
      { ...editor.headers, "content-type": "application/json" },
      JSON.stringify({ value: "from lightning" }),
    );
    expect(lightning.status).toBe(200);
    expect((await call(server, editor, "DELETE", `/collections/${name}/a`)).body).toMatchObject({
      deleted: 1,
    });
    expect((await call(server, editor, "DELETE", `/collections/${name}/b*`)).body).toMatchObject({
      deleted: 1,
    });
    expect((await post(server, editor, name, `[{"key":"a","value":[1.50]}]`)).status).toBe(201);

    const events = await takeEvents(feed, 7);
    expect(events.map((e) => [e.event, e.data.key])).toEqual([
      ["put", "a"],
      ["put", keyLs],
      ["put", "a"],
      ["put", "l1"],
      ["delete", "a"],
      ["delete", keyLs],
      ["put", "a"],
    ]);
    // The value's stored JSON text is the event's, byte for byte; version is a number.
    expect(events[0]!.text).toMatch(
      /^\{"key":"a","value":1\.0,"version":\d+,"updated":"\d{4}-\d\d-\d\dT[\d:.]{15}Z"\}$/,
    );
    expect(events[1]!.text).toContain(`"key":"${keyLs}","value":1e400,`);
    expect(events[2]!.text).toContain(`"value":{"n":-0,"s":"\\u00e9"},`);
    expect(events[3]!.text).toContain(`"value":"from lightning",`);
    expect(events[4]!.text).toMatch(/^\{"key":"a","version":\d+,"at":"[\dT:.-]+Z"\}$/);
    expect(events[6]!.text).toContain(`"value":[1.50],`);
    // Versions are the log's and grow per key; every id differs.
    const log = await logOf(server, await idOf(server, name, tenant.project.id));
    expect(events.map((e) => [e.data.key, e.event, String(e.data.version)])).toEqual(
      log.map((c) => [c.key, c.kind, c.version]),
    );
    const ofA = events.filter((e) => e.data.key === "a").map((e) => e.data.version);
    expect(ofA).toEqual([...ofA].sort((x, y) => x - y));
    expect(new Set(ofA).size).toBe(ofA.length);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    // The item's version as GET shows it is the last event's.
    const item = await call(server, editor, "GET", `/collections/${name}/a`);
    expect(item.body.results[0].value).toEqual([1.5]);
  });

  it("large values come whole, batches bounded by STREAM_BATCH_BYTES; an expiry is a delete with expired: true", async ({
    server,
    tenant,
    feeds,
  }) => {
    const name = await tenant.collection();
    const big = (c: string) => `"${c.repeat(200_000)}"`;
    await post(
      server,
      tenant.users.editor,
      name,
      `[{"key":"x","value":${big("x")}},{"key":"y","value":${big("y")}}]`,
    );
    await post(server, tenant.users.editor, name, `[{"key":"z","value":${big("z")}}]`);
    const collectionId = await idOf(server, name, tenant.project.id);
    // What the expiry sweep logs (written here directly).
    await server.services.db.sql.execute(Prisma.sql`
      INSERT INTO item_changes (collection_id, xid, version, key, kind, value, at)
      VALUES (${collectionId}::uuid, pg_current_xact_id()::text::bigint, nextval('item_versions'), 'x', 'expire', NULL, clock_timestamp())`);
    const feed = await feeds(tenant.users.viewer, name, "?since=0");
    const events = await takeEvents(feed, 4);
    for (const [i, c] of ["x", "y", "z"].entries()) {
      expect(events[i]!.event).toBe("put");
      expect(events[i]!.data.value).toBe(c.repeat(200_000));
    }
    expect(events[3]!.event).toBe("delete");
    expect(events[3]!.data).toMatchObject({ key: "x", expired: true });
  });
});

describe("GET /collections/{name}/changes: where it starts", () => {
  it("without since it starts now; since=0 replays; Last-Event-ID resumes just after that event", async ({
    server,
    tenant,
    feeds,
  }) => {
    const name = await tenant.collection();
    const editor = tenant.users.editor;
    const viewer = tenant.users.viewer;
    await post(server, editor, name, `[{"key":"before","value":1}]`);
    await settled(server);
    const now = await feeds(viewer, name);
    const start = (await now.next())!;
    expect(start.id).toMatch(/^[A-Za-z0-9_-]+$/);
    await post(server, editor, name, `[{"key":"after-1","value":1}]`);
    expect((await nextEvent(now))!.data.key).toBe("after-1");
    await post(server, editor, name, `[{"key":"after-2","value":2}]`);
    expect((await nextEvent(now))!.data.key).toBe("after-2");

    const replay = await feeds(viewer, name, "?since=0");
    const all = await takeEvents(replay, 3);
    expect(all.map((e) => e.data.key)).toEqual(["before", "after-1", "after-2"]);
    // Resuming after each event gives exactly the ones after it, whatever `since` says.
    for (const [i, e] of all.entries()) {
      const resumed = await feeds(viewer, name, "?since=0", { "last-event-id": e.id });
      expect((await resumed.next())!.id).toBe(e.id);
      await post(server, editor, name, `[{"key":"mark-${i}","value":${i}}]`);
      const rest = await takeEvents(resumed, all.length); // the ones after it, and the marks so far
      expect(rest.map((r) => r.data.key)).toEqual([
        ...all.slice(i + 1).map((a) => a.data.key),
        ...Array.from({ length: i + 1 }, (_, j) => `mark-${j}`),
      ]);
      resumed.close();
    }
    // `since` takes a cursor just as well; the start id of a feed opened "now" resumes where it began.
    const fromCursor = await feeds(viewer, name, `?since=${all[1]!.id}`);
    expect((await nextEvent(fromCursor))!.data.key).toBe("after-2");
    const resumedAtStart = await feeds(viewer, name, "", { "last-event-id": start.id! });
    expect((await nextEvent(resumedAtStart))!.data.key).toBe("after-1");
  });

  it("the key pattern selects the keys; a cursor belongs to its collection and pattern", async ({
    server,
    tenant,
    feeds,
  }) => {
    const name = await tenant.collection();
    const other = await tenant.collection();
    const editor = tenant.users.editor;
    await post(
      server,
      editor,
      name,
      `[{"key":"a%1","value":1},{"key":"b","value":2},{"key":"a_2","value":3}]`,
    );
    await post(server, editor, name, `[{"key":"ab","value":4},{"key":"a%1","value":5}]`);
    const like = await feeds(editor, name, "?since=0&key=a%25*");
    expect((await takeEvents(like, 2)).map((e) => [e.data.key, e.data.value])).toEqual([
      ["a%1", 1],
      ["a%1", 5],
    ]);
    const exact = await feeds(editor, name, "?since=0&key=b");
    const [b] = await takeEvents(exact, 1);
    expect(b!.data).toMatchObject({ key: "b", value: 2 });
    await post(server, editor, name, `[{"key":"b","value":6}]`);
    expect((await nextEvent(exact))!.data).toMatchObject({ key: "b", value: 6 });

    const elsewhere = await feeds(editor, other, `?since=${b!.id}`);
    expect(elsewhere.status).toBe(400);
    expect(JSON.parse(elsewhere.text!)).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^Invalid parameter "since": belongs to another feed/),
    });
    const otherPattern = await feeds(editor, name, "?key=a*", { "last-event-id": b!.id });
    expect(otherPattern.status).toBe(400);
    expect(JSON.parse(otherPattern.text!).message).toMatch(/^Invalid parameter "Last-Event-ID"/);
  });

  it("410 CHANGES_EXPIRED below the retention floor; since=0 starts at the floor", async ({
    server,
    tenant,
    feeds,
  }) => {
    const name = await tenant.collection();
    const editor = tenant.users.editor;
    for (const key of ["c1", "c2", "c3"]) await post(server, editor, name, `[{"key":"${key}","value":1}]`);
    const [c1, c2] = await takeEvents(await feeds(editor, name, "?since=0"), 3);
    // What the sweep does when it prunes: the changes up to c2 go, the floor rises to c2's position.
    const collectionId = await idOf(server, name, tenant.project.id);
    await server.services.db.sql.transaction(async (tx) => {
      await tx.execute(Prisma.sql`
        UPDATE collections c SET changes_floor_xid = x.xid, changes_floor_version = x.version
        FROM item_changes x WHERE c.id = ${collectionId}::uuid AND x.collection_id = c.id AND x.key = 'c2'`);
      await tx.execute(Prisma.sql`
        DELETE FROM item_changes WHERE collection_id = ${collectionId}::uuid AND key IN ('c1', 'c2')`);
    });
    for (const [query, headers] of [
      [`?since=${c1!.id}`, {}],
      ["", { "last-event-id": c1!.id }],
      [`?format=json&since=${c1!.id}`, {}],
    ] as const) {
      const gone = await feeds(editor, name, query, headers);
      expect(gone.status, query).toBe(410);
      expect(JSON.parse(gone.text!)).toEqual({
        code: "CHANGES_EXPIRED",
        message: expect.stringMatching(
          /older than the changes this collection still keeps.*re-read the collection/,
        ),
      });
    }
    const head = await rawRequest(
      server,
      "HEAD",
      `/collections/${name}/changes?since=${c1!.id}`,
      editor.headers,
    );
    expect(head.status).toBe(410);
    const atFloor = await feeds(editor, name, "", { "last-event-id": c2!.id });
    expect((await nextEvent(atFloor))!.data.key).toBe("c3");
    const fromZero = await feeds(editor, name, "?since=0");
    expect((await nextEvent(fromZero))!.data.key).toBe("c3");
  });
});

describe("GET /collections/{name}/changes: refusals, routing, heartbeats", () => {
  it("400 naming the parameter, 401, 404; the one error body", async ({ server, tenant, feeds }) => {
    const name = await tenant.collection();
    const cases: [string, Record<string, string>, number, RegExp][] = [
      ["?since=garbage", {}, 400, /^Invalid parameter "since": is not a change feed cursor/],
      ["?since=", {}, 400, /"since"/],
      ["", { "last-event-id": "ZjEuMS4xLng" }, 400, /^Invalid parameter "Last-Event-ID"/],
      ["?limit=5", {}, 400, /"limit": limit is for format=json only/],
      ["?format=json&wait=61", {}, 400, /"wait": must be at most 60 \(CHANGES_MAX_WAIT_SECONDS\)/],
      ["?format=xml", {}, 400, /"format"/],
      ["?key=", {}, 400, /"key"/],
      ["?cursor=1", {}, 400, /Unknown parameter "cursor"/],
    ];
    for (const [query, headers, status, message] of cases) {
      const r = await feeds(tenant.users.viewer, name, query, headers);
      expect(r.status, query).toBe(status);
      expect(JSON.parse(r.text!).message, query).toMatch(message);
    }
    const anonymous = await feeds(undefined, name);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await feeds(tenant.users.viewer, "no-such-collection")).status).toBe(404);
    expect((await feeds(tenant.outsider, name)).status).toBe(404);
    void server;
  });

  it("`changes` is the feed as sent, for every method; %63hanges is the key; HEAD", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const editor = tenant.users.editor;
    await post(server, editor, name, `[{"key":"changes","value":"a key"}]`);
    const key = await call(server, editor, "GET", `/collections/${name}/%63hanges`);
    expect(key.body.results).toEqual([expect.objectContaining({ key: "changes", value: "a key" })]);
    const head = await rawRequest(server, "HEAD", `/collections/${name}/changes`, editor.headers);
    expect([head.status, head.headers.get("content-type"), head.text]).toEqual([
      200,
      "text/event-stream; charset=utf-8",
      "",
    ]);
    const headJson = await rawRequest(
      server,
      "HEAD",
      `/collections/${name}/changes?format=json`,
      editor.headers,
    );
    expect(headJson.headers.get("content-type")).toBe("application/json; charset=utf-8");
    // One meaning per path: every other method of …/changes is 405, the key is reached encoded.
    const delete405 = await call(server, editor, "DELETE", `/collections/${name}/changes`);
    expect([delete405.status, delete405.headers.get("allow")]).toEqual([405, "GET, HEAD, OPTIONS"]);
    const post405 = await call(server, editor, "POST", `/collections/${name}/changes`, []);
    expect(post405.status).toBe(405);
    const removed = await call(server, editor, "DELETE", `/collections/${name}/%63hanges`);
    expect(removed.body).toEqual({ keys: ["changes"], deleted: 1 });
  });
});

describe("GET /collections/{name}/changes?format=json: long-poll", () => {
  it("pages with limit and cursor; waits for a write when nothing is new", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const editor = tenant.users.editor;
    await post(server, editor, name, `[{"key":"p1","value":1.0},{"key":"p2","value":2}]`);
    await call(server, editor, "DELETE", `/collections/${name}/p1`);
    const poll = (query: string) =>
      call(server, tenant.users.viewer, "GET", `/collections/${name}/changes?format=json${query}`);
    // `wait`: a transaction elsewhere on the database server may hold the changes back a moment.
    const first = await poll("&since=0&limit=2&wait=30");
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(first.text).toContain(`"key":"p1","value":1.0,`);
    expect(first.body.changes).toEqual([
      {
        kind: "put",
        id: expect.any(String),
        key: "p1",
        value: 1,
        version: expect.any(Number),
        updated: expect.any(String),
      },
      {
        kind: "put",
        id: expect.any(String),
        key: "p2",
        value: 2,
        version: expect.any(Number),
        updated: expect.any(String),
      },
    ]);
    const second = await poll(`&since=${first.body.cursor}&wait=30`);
    expect(second.body.changes).toEqual([
      {
        kind: "delete",
        id: expect.any(String),
        key: "p1",
        version: expect.any(Number),
        at: expect.any(String),
      },
    ]);
    // The SSE ids and the long-poll cursors are the same cursors.
    const sse = await openSse(`${server.url}/collections/${name}/changes`, {
      ...editor.headers,
      "last-event-id": first.body.changes[0].id,
    });
    expect((await nextEvent(sse))!.data.key).toBe("p2");
    sse.close();

    const idle = await poll(`&since=${second.body.cursor}`);
    expect(idle.body.changes).toEqual([]);
    const waiting = poll(`&since=${idle.body.cursor}&wait=30`);
    await sleep(300);
    await post(server, editor, name, `[{"key":"p3","value":3}]`);
    const woken = await waiting;
    expect(woken.body.changes.map((c: { key: string }) => c.key)).toEqual(["p3"]);
  });
});

import { request } from "node:http";
import { describe, expect } from "vitest";
import { Prisma } from "../../server/generated/prisma/client.js";
import { test } from "../support/fixtures.js";
import { failNthItemRead } from "../support/read-failure.js";
import { call } from "../support/items.js";
import { rawRequest, storedItems } from "../support/raw.js";
import type { TestServer } from "../support/server.js";
import type { Tenant, TenantUser } from "../support/tenant.js";

// SPEC §9.4 on REST: GET /collections/{name}/export (NDJSON or one JSON array, streamed, filtered) and
// POST /collections/{name}/import (NDJSON read line by line: batches, line-numbered errors,
// mode=create-only, atomic=true within IMPORT_ATOMIC_MAX_ITEMS). Values and keys go round byte for byte.

const it = test;
it.override({
  serverEnv: {
    // Far below the bodies imported here: an import is not an item write of MAX_BODY_BYTES.
    MAX_BODY_BYTES: "1024",
    MAX_VALUE_CHARS: "1000",
    IMPORT_ATOMIC_MAX_ITEMS: "1000",
    STREAM_BATCH_SIZE: "500",
  },
});

const NDJSON = { "content-type": "application/x-ndjson" };

/** Items with exact value texts, written straight through the service's item store. */
async function seedTexts(
  server: TestServer,
  tenant: Tenant,
  name: string,
  items: { key: string; valueJson: string }[],
): Promise<void> {
  const { upsertItems } = await import("../../server/services/items.js");
  const c = await server.services.db.prisma.collection.findFirstOrThrow({
    where: { name, projectId: tenant.project.id },
    select: { id: true },
  });
  await upsertItems(server.services.db.sql, c.id, items);
}

async function itemCount(server: TestServer, tenant: Tenant, name: string): Promise<number> {
  const [row] = await server.services.db.sql.query<{ n: number }>(Prisma.sql`
    SELECT count(*)::int AS n FROM items
    WHERE collection_id = (SELECT id FROM collections WHERE project_id = ${tenant.project.id}::uuid AND name = ${name})`);
  return row!.n;
}

const importInto = (
  server: TestServer,
  user: TenantUser | undefined,
  name: string,
  body: string | Uint8Array,
  query = "",
) =>
  rawRequest(
    server,
    "POST",
    `/collections/${name}/import${query}`,
    { ...NDJSON, ...(user?.headers ?? {}) },
    body,
  );

const exportOf = (server: TestServer, user: TenantUser | undefined, name: string, query = "") =>
  rawRequest(server, "GET", `/collections/${name}/export${query}`, user?.headers ?? {});

/** The lines of an NDJSON answer (every line ends with "\n"). */
function lines(text: string): string[] {
  expect(text === "" || text.endsWith("\n"), "every line ends with a line break").toBe(true);
  return text === "" ? [] : text.slice(0, -1).split("\n");
}

/** Keys and value texts the JSON parsers of clients would choke on or change. */
const hostile = [
  { key: "\uFEFFbom", valueJson: "1.0" },
  { key: "line\u2028sep", valueJson: "1e400" },
  { key: "a\\b", valueJson: "-0" },
  { key: "export", valueJson: '{"nested":[1.50,"x\\u0041"],"_meta":2,"e":1E+2}' },
  { key: 'quote"d', valueJson: '"\\ud83d\\ude00 \u2029 \\n"' },
  { key: "x/../y", valueJson: "[]" },
  { key: "%2e%5C_*", valueJson: "null" },
  { key: "big", valueJson: "12345678901234567890123456789" },
];

describe("GET /collections/{name}/export", () => {
  it("streams NDJSON: one {key, value, created, updated, version} per line, values as stored, and a file name", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    await seedTexts(server, tenant, name, hostile);
    const res = await exportOf(server, tenant.users.viewer, name);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${name}.ndjson"`);
    const got = lines(res.text);
    expect(got).toHaveLength(hostile.length);
    const listed = (await call(server, tenant.users.viewer, "GET", `/collections/${name}`)).body.results;
    got.forEach((line, i) => {
      const { key, valueJson } = hostile[i]!;
      // The value is the stored text itself (1.0, 1e400, -0 survive), between the key and the timestamps.
      expect(line).toBe(
        `{"key":${JSON.stringify(key)},"value":${valueJson},"created":"${listed[i].created}","updated":"${listed[i].updated}","version":${JSON.parse(line).version}}`,
      );
      const parsed = JSON.parse(line);
      expect(Object.keys(parsed)).toEqual(["key", "value", "created", "updated", "version"]);
      expect(parsed.key).toBe(key);
      expect(Number.isSafeInteger(parsed.version) && parsed.version > 0).toBe(true);
    });
    // Versions grow with every write.
    const before = new Map(got.map((l) => [JSON.parse(l).key, JSON.parse(l).version as number]));
    await seedTexts(server, tenant, name, [{ key: "big", valueJson: "2" }]);
    const again = lines((await exportOf(server, tenant.users.viewer, name)).text).map((l) => JSON.parse(l));
    const big = again.find((o) => o.key === "big");
    expect(big.version).toBeGreaterThan(before.get("big")!);
    expect(again.find((o) => o.key === "a\\b").version).toBe(before.get("a\\b"));
  });

  it("format=json-array answers one JSON array of the same objects, as application/json with a .json name", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    await seedTexts(server, tenant, name, hostile);
    const nd = lines((await exportOf(server, tenant.users.viewer, name)).text);
    const res = await exportOf(server, tenant.users.viewer, name, "?format=json-array");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${name}.json"`);
    expect(res.text).toBe(`[${nd.join(",")}]`);
    expect(JSON.parse(res.text)).toHaveLength(hostile.length);
    const empty = await tenant.collection();
    const none = await exportOf(server, tenant.users.viewer, empty, "?format=json-array");
    expect(none.text).toBe("[]");
    const noLines = await exportOf(server, tenant.users.viewer, empty);
    expect(noLines.status).toBe(200);
    expect(noLines.text).toBe("");
  });

  it("filters by key pattern and time like GET; HEAD answers the headers and no body", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    await seedTexts(server, tenant, name, [
      { key: "p-1", valueJson: "1" },
      { key: "q-1", valueJson: "2" },
      { key: "p-2", valueJson: "3" },
    ]);
    const p = lines((await exportOf(server, tenant.users.viewer, name, "?key=p-*")).text);
    expect(p.map((l) => JSON.parse(l).key)).toEqual(["p-1", "p-2"]);
    const exact = lines((await exportOf(server, tenant.users.viewer, name, "?key=q-1")).text);
    expect(exact.map((l) => JSON.parse(l).value)).toEqual([2]);
    expect((await exportOf(server, tenant.users.viewer, name, "?created_after=2999-01-01")).text).toBe("");
    expect(
      lines((await exportOf(server, tenant.users.viewer, name, "?updated_before=2999-01-01")).text),
    ).toHaveLength(3);
    const head = await rawRequest(server, "HEAD", `/collections/${name}/export`, tenant.users.viewer.headers);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("application/x-ndjson");
    expect(head.headers.get("content-disposition")).toBe(`attachment; filename="${name}.ndjson"`);
    expect(head.text).toBe("");
  });

  it("400 for a bad, repeated or unknown parameter (naming it), 401 without a token, 404 for another collection", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    for (const [query, param] of [
      ["?format=xml", "format"],
      ["?limit=5", "limit"],
      ["?cursor=abc", "cursor"],
      ["?created_after=yesterday", "created_after"],
      ["?key=", "key"],
      ["?format=ndjson&format=json-array", "format"],
      ["?project_id=nope", "project_id"],
    ] as const) {
      const res = await exportOf(server, tenant.users.viewer, name, query);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe("BAD_REQUEST");
      expect(res.body.message, query).toContain(`"${param}"`);
    }
    const anonymous = await exportOf(server, undefined, name);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await exportOf(server, tenant.outsider, name)).status).toBe(404);
    expect((await exportOf(server, tenant.users.viewer, "no-such-collection")).status).toBe(404);
  });

  it("a failure after the first byte aborts the transfer instead of ending it", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    await seedTexts(
      server,
      tenant,
      name,
      // More than one database read: a COPY reads 4 × STREAM_BATCH_SIZE (item-operations.ts), batches 1.
      Array.from({ length: 2600 }, (_, i) => ({
        key: `k${i}`,
        valueJson: `{"filler":"${"x".repeat(500)}"}`,
      })),
    );
    // Fail the second read of items, after the first batch has been sent.
    const failing = failNthItemRead(server.services.db.sql, 2);
    try {
      const res = await fetch(`${server.url}/collections/${name}/export`, {
        headers: tenant.users.viewer.headers,
      });
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow();
    } finally {
      failing.restore();
    }
    expect(failing.reads()).toBe(2);
  });

  it("the key named export is /collections/{name}/%65xport; the other methods of …/export and …/import are 405", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    await seedTexts(server, tenant, name, [
      { key: "export", valueJson: '"the export key"' },
      { key: "import", valueJson: '"the import key"' },
    ]);
    const read = await call(server, tenant.users.viewer, "GET", `/collections/${name}/%65xport`);
    expect(read.status).toBe(200);
    expect(read.body.results.map((r: { key: string; value: unknown }) => [r.key, r.value])).toEqual([
      ["export", "the export key"],
    ]);
    // One meaning per path: the other methods of …/export and …/import are 405, the keys are reached encoded.
    const imp = await call(server, tenant.users.viewer, "GET", `/collections/${name}/import`);
    expect([imp.status, imp.headers.get("allow")]).toEqual([405, "POST, OPTIONS"]);
    const imported = await call(server, tenant.users.viewer, "GET", `/collections/${name}/%69mport`);
    expect(imported.body.results.map((r: { value: unknown }) => r.value)).toEqual(["the import key"]);
    const options = await rawRequest(server, "OPTIONS", `/collections/${name}/export`);
    expect(options.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
    const refused = await call(server, tenant.users.editor, "DELETE", `/collections/${name}/export`);
    expect(refused.status).toBe(405);
    const gone = await call(server, tenant.users.editor, "DELETE", `/collections/${name}/%65xport`);
    expect(gone.status).toBe(200);
    expect(gone.body).toEqual({ deleted: 1, keys: ["export"] });
    const left = lines((await exportOf(server, tenant.users.viewer, name)).text).map(
      (l) => JSON.parse(l).key,
    );
    expect(left).toEqual(["import"]);
  });
});

describe("POST /collections/{name}/import", () => {
  it("an export imported into another collection reproduces every key and value byte for byte", async ({
    server,
    tenant,
  }) => {
    const from = await tenant.collection();
    const to = await tenant.collection();
    await seedTexts(server, tenant, from, hostile);
    const exported = await exportOf(server, tenant.users.viewer, from);
    const res = await importInto(server, tenant.users.editor, to, exported.text);
    expect(res.status, res.text).toBe(201);
    expect(res.body).toEqual({
      upserted: hostile.length,
      created: hostile.length,
      skipped: 0,
      errors: [],
      error_count: 0,
    });
    const strip = (rows: { key: string; value: string }[]) => rows.map(({ key, value }) => ({ key, value }));
    expect(strip(await storedItems(server, tenant.project.id, to))).toEqual(
      strip(await storedItems(server, tenant.project.id, from)),
    );
    expect(strip(await storedItems(server, tenant.project.id, to))).toEqual(
      hostile.map(({ key, valueJson }) => ({ key, value: valueJson })),
    );
    // And back out: the same lines but for the timestamps and versions.
    const strip2 = (text: string) => lines(text).map((l) => l.replace(/,"created":.*$/, ""));
    expect(strip2((await exportOf(server, tenant.users.viewer, to)).text)).toEqual(strip2(exported.text));
    // The json-array export is no import format, but its lines are: importing again updates (200).
    const again = await importInto(server, tenant.users.editor, to, exported.text);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ upserted: hostile.length, created: 0 });
  });

  it("of 100,000 lines with 5 bad ones, reports exactly those 5 line numbers and writes the rest (MAX_BODY_BYTES does not apply)", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const total = 100_000;
    const bad = new Map<number, string>([
      [7, '{"key":"broken",'],
      [12_345, '{"key":"no-value"}'],
      [50_000, '{"key":"ctl\\u0001","value":1}'],
      [77_777, "[1,2,3]"],
      [total, `{"key":"too-big","value":"${"x".repeat(1200)}"}`],
    ]);
    const blank = new Set([3, 99_999]);
    const body: string[] = [];
    for (let n = 1; n <= total; n++) {
      body.push(bad.get(n) ?? (blank.has(n) ? "" : `{"key":"k${n}","value":{"n":${n}}}`));
    }
    const text = body.join("\n"); // the last line ends without a line break
    expect(Buffer.byteLength(text)).toBeGreaterThan(1000 * 1024);
    const res = await importInto(server, tenant.users.editor, name, text);
    expect(res.status, res.text.slice(0, 500)).toBe(201);
    const written = total - bad.size - blank.size;
    expect(res.body.upserted).toBe(written);
    expect(res.body.created).toBe(written);
    expect(res.body.error_count).toBe(5);
    expect(res.body.errors.map((e: { line: number }) => e.line)).toEqual([...bad.keys()]);
    expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual([
      expect.stringMatching(/not valid JSON/),
      "value is missing",
      expect.stringMatching(/control/),
      expect.stringMatching(/must be a JSON object/),
      expect.stringMatching(/MAX_VALUE_CHARS/),
    ]);
    expect(await itemCount(server, tenant, name)).toBe(written);
    // The JSON upsert route keeps its limit.
    const small = await call(server, tenant.users.editor, "POST", `/collections/${name}`, [
      { key: "k", value: "y".repeat(2000) },
    ]);
    expect(small.status).toBe(413);
    // And streams back out, in batches (STREAM_BATCH_SIZE is 500 here): k1, k10…k19, k100…k199, …
    const out = await fetch(`${server.url}/collections/${name}/export?key=k1*`, {
      headers: tenant.users.viewer.headers,
    });
    expect(out.headers.get("transfer-encoding")).toBe("chunked");
    const keys = lines(await out.text()).map((l) => JSON.parse(l).key as string);
    const expected: string[] = [];
    for (let n = 1; n <= total; n++)
      if (String(n).startsWith("1") && !bad.has(n) && !blank.has(n)) expected.push(`k${n}`);
    expect(keys).toEqual(expected);
  });

  it("atomic=true with one bad line writes nothing (422 with the error); without bad lines writes all (201)", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const good = Array.from({ length: 600 }, (_, i) => `{"key":"a${i}","value":${i}}`);
    const withBad = [...good.slice(0, 500), '{"key":"","value":1}', ...good.slice(500)].join("\n") + "\n";
    const refused = await importInto(server, tenant.users.editor, name, withBad, "?atomic=true");
    expect(refused.status).toBe(422);
    expect(refused.body).toEqual({
      upserted: 0,
      created: 0,
      skipped: 0,
      errors: [{ line: 501, message: expect.any(String) }],
      error_count: 1,
    });
    expect(await itemCount(server, tenant, name)).toBe(0);
    const accepted = await importInto(server, tenant.users.editor, name, good.join("\n"), "?atomic=1");
    expect(accepted.status).toBe(201);
    expect(accepted.body).toMatchObject({ upserted: 600, created: 600, error_count: 0 });
    expect(await itemCount(server, tenant, name)).toBe(600);
    // One transaction, one timestamp.
    const stored = await storedItems(server, tenant.project.id, name);
    expect(new Set(stored.map((s) => s.updated)).size).toBe(1);
  });

  it("atomic=true beyond IMPORT_ATOMIC_MAX_ITEMS is 413 naming the setting, and writes nothing", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const body = Array.from({ length: 1001 }, (_, i) => `{"key":"a${i}","value":${i}}`).join("\n");
    const res = await importInto(server, tenant.users.editor, name, body, "?atomic=true");
    expect(res.status).toBe(413);
    expect(res.body).toEqual({
      code: "PAYLOAD_TOO_LARGE",
      message: expect.stringContaining("IMPORT_ATOMIC_MAX_ITEMS"),
    });
    expect(await itemCount(server, tenant, name)).toBe(0);
    // Without atomic, the same body is written.
    expect((await importInto(server, tenant.users.editor, name, body)).status).toBe(201);
    expect(await itemCount(server, tenant, name)).toBe(1001);
  });

  it("mode=create-only skips existing keys (counted, not errors) and keeps their values", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    await seedTexts(server, tenant, name, [
      { key: "a", valueJson: '"old a"' },
      { key: "b", valueJson: '"old b"' },
    ]);
    const body = [
      '{"key":"a","value":"new a"}',
      '{"key":"c","value":"new c"}',
      '{"key":"b","value":"new b"}',
    ].join("\n");
    for (const atomic of ["", "&atomic=true"]) {
      const res = await importInto(server, tenant.users.editor, name, body, `?mode=create-only${atomic}`);
      expect(res.status, atomic).toBe(atomic ? 200 : 201);
      expect(res.body, atomic).toEqual(
        atomic
          ? { upserted: 0, created: 0, skipped: 3, errors: [], error_count: 0 }
          : { upserted: 1, created: 1, skipped: 2, errors: [], error_count: 0 },
      );
    }
    expect((await storedItems(server, tenant.project.id, name)).map((s) => [s.key, s.value])).toEqual([
      ["a", '"old a"'],
      ["b", '"old b"'],
      ["c", '"new c"'],
    ]);
  });

  it("a key on several lines ends with its last line's value (create-only: its first), in one batch or across", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const body = ['{"key":"d","value":1}', '{"key":"e","value":1}', '{"key":"d","value":2}'].join("\n");
    const res = await importInto(server, tenant.users.editor, name, body);
    expect(res.body).toMatchObject({ upserted: 3, created: 2, error_count: 0 });
    const created = await tenant.collection();
    const once = await importInto(server, tenant.users.editor, created, body, "?mode=create-only");
    expect(once.body).toMatchObject({ upserted: 2, created: 2, skipped: 1, error_count: 0 });
    const values = async (n: string) =>
      (await storedItems(server, tenant.project.id, n)).map((s) => [s.key, s.value]);
    expect(await values(name)).toEqual([
      ["d", "2"],
      ["e", "1"],
    ]);
    expect(await values(created)).toEqual([
      ["d", "1"],
      ["e", "1"],
    ]);
  });

  it("reads CRLF, a byte-order mark, blank lines and a last line without a line break; refuses long and non-UTF-8 lines alone", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const body = Buffer.concat([
      Buffer.from("\uFEFF" + '{"key":"one","value":1}\r\n\r\n   \n'),
      Buffer.from(`{"key":"long","value":"${"z".repeat(100_000)}"}\n`),
      Buffer.from('{"key":"bad-utf8","value":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}\n{"key":"two","value":{"k" : [1, 2.50]}}'),
    ]);
    const res = await importInto(server, tenant.users.editor, name, body);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      upserted: 2,
      created: 2,
      skipped: 0,
      errors: [
        { line: 4, message: expect.stringMatching(/longer than \d+ bytes/) },
        { line: 5, message: "the line is not valid UTF-8" },
      ],
      error_count: 2,
    });
    expect((await storedItems(server, tenant.project.id, name)).map((s) => [s.key, s.value])).toEqual([
      ["one", "1"],
      ["two", '{"k":[1,2.50]}'],
    ]);
  });

  it("a client that goes away mid-body keeps the batches written so far, and the server logs no error", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const { hostname, port } = new URL(server.url);
    const errorsBefore = server.services.logs.filter((l) => l.level === "error").length;
    const req = request({
      host: hostname,
      port,
      method: "POST",
      path: `/collections/${name}/import`,
      agent: false,
      headers: { ...NDJSON, ...tenant.users.editor.headers },
    });
    req.on("error", () => {});
    // Two full batches of 1,000 lines and the start of a third, then the connection is cut.
    req.write(Array.from({ length: 2500 }, (_, i) => `{"key":"g${i}","value":${i}}\n`).join(""));
    const until = Date.now() + 60_000;
    while ((await itemCount(server, tenant, name)) < 2000 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    while (
      !server.services.logs.some(
        (l) => l.msg === "request" && l.route === "/collections/{name}/import" && l.aborted,
      ) &&
      Date.now() < until
    )
      await new Promise((r) => setTimeout(r, 50));
    expect(await itemCount(server, tenant, name)).toBe(2000);
    expect(server.services.logs.filter((l) => l.level === "error").slice(errorsBefore)).toEqual([]);
    expect((await call(server, undefined, "GET", "/health")).status).toBe(200);
  });

  it("an empty body imports nothing (200); only bad lines is 422", async ({ server, tenant }) => {
    const name = await tenant.collection();
    const empty = await importInto(server, tenant.users.editor, name, "");
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ upserted: 0, created: 0, skipped: 0, errors: [], error_count: 0 });
    const bad = await importInto(server, tenant.users.editor, name, "nope\n{}");
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e: { line: number }) => e.line)).toEqual([1, 2]);
  });

  it("checks the caller before the body: 401 without a token, 403 for a viewer; 400 for bad parameters, 415 for another type", async ({
    server,
    tenant,
  }) => {
    const name = await tenant.collection();
    const body = '{"key":"a","value":1}\n';
    const anonymous = await importInto(server, undefined, name, body);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await importInto(server, tenant.users.viewer, name, body)).status).toBe(403);
    expect((await importInto(server, tenant.outsider, name, body)).status).toBe(404);
    for (const [query, param] of [
      ["?mode=merge", "mode"],
      ["?atomic=yes", "atomic"],
      ["?limit=1", "limit"],
      ["?mode=upsert&mode=upsert", "mode"],
    ] as const) {
      const res = await importInto(server, tenant.users.editor, name, body, query);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe("BAD_REQUEST");
      expect(res.body.message, query).toContain(`"${param}"`);
    }
    const csv = await rawRequest(
      server,
      "POST",
      `/collections/${name}/import`,
      { ...tenant.users.editor.headers, "content-type": "text/csv" },
      body,
    );
    expect(csv.status).toBe(415);
    expect(csv.body.message).toMatch(/application\/x-ndjson/);
    expect(await itemCount(server, tenant, name)).toBe(0);
    // application/json is taken as NDJSON too.
    const json = await rawRequest(
      server,
      "POST",
      `/collections/${name}/import`,
      { ...tenant.users.editor.headers, "content-type": "application/json" },
      body,
    );
    expect(json.status).toBe(201);
  });
});

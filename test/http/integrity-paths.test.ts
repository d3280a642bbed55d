import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { lineAs, storedKeys } from "../support/integrity.js";

// Issue 11, defect 1 (SPEC §3.6): the {key} segment is taken from the request line as sent, percent-decoded
// once and never normalised, on both dialects. Every request here goes out byte for byte (node:http), since
// fetch and WHATWG URL would rewrite `\`, `..` and `.` on the client side already.

const it = test
  /** A fresh collection holding these keys (written through POST JSON, where keys are exact), value = key. */
  .extend(
    "collectionWith",
    { scope: "file" },
    ({ server, tenant }) =>
      async (keys: string[]): Promise<string> => {
        const name = await tenant.collection();
        if (keys.length > 0) {
          const r = await lineAs(
            server,
            tenant.users.editor,
            "POST",
            `/collections/${name}`,
            keys.map((key) => ({ key, value: key })),
          );
          expect(r.status, r.text).toBe(201);
          expect(r.body).toEqual({ upserted: keys.length, errors: [] });
        }
        return name;
      },
  )
  /** The collection the dot-segment reads share. */
  .extend("dots", { scope: "file" }, ({ collectionWith }) =>
    collectionWith([".", "..", "x/../y", "x/./y", "y", "x", "x/y"]),
  );

const restKeys = (body: { results: { key: string }[] }) => body.results.map((r) => r.key);

describe("1. a backslash in the path is part of the key, never a '/'", () => {
  it("REST GET reads a\\b by %5C and by a raw backslash, and never the item a/b", async ({
    server,
    tenant,
    collectionWith,
  }) => {
    const name = await collectionWith(["a\\b", "a/b"]);
    for (const path of [
      `/collections/${name}/a%5Cb`,
      `/collections/${name}/a%5cb`,
      `/collections/${name}/a\\b`,
    ]) {
      const r = await lineAs(server, tenant.users.viewer, "GET", path);
      expect(r.status, `${path}: ${r.text}`).toBe(200);
      expect(
        r.body.results.map((x: { key: string; value: unknown }) => [x.key, x.value]),
        path,
      ).toEqual([["a\\b", "a\\b"]]);
    }
    const slash = await lineAs(server, tenant.users.viewer, "GET", `/collections/${name}/a%2Fb`);
    expect(restKeys(slash.body)).toEqual(["a/b"]);
  });

  it("Lightning GET reads a\\b by %5C and by a raw backslash (200, not 204), and never the item a/b", async ({
    server,
    tenant,
    collectionWith,
  }) => {
    const name = await collectionWith(["a\\b", "a/b"]);
    for (const path of [`/lightning/collections/${name}/a%5Cb`, `/lightning/collections/${name}/a\\b`]) {
      const r = await lineAs(server, tenant.users.viewer, "GET", path);
      expect(r.status, `${path}: ${r.text}`).toBe(200);
      expect(r.body, path).toMatchObject({ key: "a\\b", value: "a\\b" });
    }
  });

  it("Lightning DELETE of a%5Cb deletes a\\b only; the item a/b remains", async ({
    server,
    tenant,
    collectionWith,
  }) => {
    const name = await collectionWith(["a\\b", "a/b"]);
    const r = await lineAs(server, tenant.users.editor, "DELETE", `/lightning/collections/${name}/a%5Cb`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ key: "a\\b", deleted: 1, error: null });
    expect(await storedKeys(server, tenant.project.id, name)).toEqual(["a/b"]);
  });

  it("Lightning DELETE with a raw backslash deletes a\\b only; the item a/b remains", async ({
    server,
    tenant,
    collectionWith,
  }) => {
    const name = await collectionWith(["a\\b", "a/b"]);
    const r = await lineAs(server, tenant.users.editor, "DELETE", `/lightning/collections/${name}/a\\b`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ key: "a\\b", deleted: 1, error: null });
    expect(await storedKeys(server, tenant.project.id, name)).toEqual(["a/b"]);
  });

  it("REST DELETE with a raw backslash deletes a\\b only; the item a/b remains", async ({
    server,
    tenant,
    collectionWith,
  }) => {
    const name = await collectionWith(["a\\b", "a/b"]);
    const r = await lineAs(server, tenant.users.editor, "DELETE", `/collections/${name}/a\\b`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ keys: ["a\\b"], deleted: 1 });
    expect(await storedKeys(server, tenant.project.id, name)).toEqual(["a/b"]);
  });
});

describe("1. dot segments are ordinary characters of the key", () => {
  it("Lightning PUT …/dir/../target writes the key dir/../target, and no key target", async ({
    server,
    tenant,
    collectionWith,
  }) => {
    const name = await collectionWith([]);
    const r = await lineAs(
      server,
      tenant.users.editor,
      "PUT",
      `/lightning/collections/${name}/dir/../target`,
      { value: "v" },
    );
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ upserted: 1, error: null });
    expect(await storedKeys(server, tenant.project.id, name)).toEqual(["dir/../target"]);
    const back = await lineAs(server, tenant.users.viewer, "GET", `/collections/${name}/dir/../target`);
    expect(back.status, back.text).toBe(200);
    expect(restKeys(back.body)).toEqual(["dir/../target"]);
  });

  it("GET /collections/c/.. reads the key '..' of c (never the collection list)", async ({
    server,
    tenant,
    collectionWith,
  }) => {
    const name = await collectionWith(["other"]);
    const absent = await lineAs(server, tenant.users.viewer, "GET", `/collections/${name}/..`);
    expect(absent.status, absent.text).toBe(200);
    expect(absent.body).toEqual({ results: [], end_offset: 0, cursor: null });
    await lineAs(server, tenant.users.editor, "POST", `/collections/${name}`, [{ key: "..", value: "dots" }]);
    const present = await lineAs(server, tenant.users.viewer, "GET", `/collections/${name}/..`);
    expect(present.status, present.text).toBe(200);
    expect(present.body.results.map((x: { key: string; value: unknown }) => [x.key, x.value])).toEqual([
      ["..", "dots"],
    ]);
  });

  it("Lightning GET …/c/.. is the key '..': 204 when absent, the item when present", async ({
    server,
    tenant,
    collectionWith,
  }) => {
    const name = await collectionWith(["other"]);
    const absent = await lineAs(server, tenant.users.viewer, "GET", `/lightning/collections/${name}/..`);
    expect(absent.status, absent.text).toBe(204);
    expect(absent.text).toBe("");
    await lineAs(server, tenant.users.editor, "POST", `/collections/${name}`, [{ key: "..", value: "dots" }]);
    const present = await lineAs(server, tenant.users.viewer, "GET", `/lightning/collections/${name}/..`);
    expect(present.status, present.text).toBe(200);
    expect(present.body).toMatchObject({ key: "..", value: "dots" });
  });

  const dotCases: [string, string][] = [
    [".", "."],
    ["%2e", "."],
    ["%2e%2e", ".."],
    ["%2E%2E", ".."],
    [".%2e", ".."],
    ["x%2F..%2Fy", "x/../y"],
    ["x/../y", "x/../y"],
    ["x/%2e%2e/y", "x/../y"],
    ["x/./y", "x/./y"],
  ];
  it.for(dotCases)(
    "REST GET …/%s reads exactly the key %j",
    async ([segment, key], { server, tenant, dots }) => {
      const r = await lineAs(server, tenant.users.viewer, "GET", `/collections/${dots}/${segment}`);
      expect(r.status, r.text).toBe(200);
      expect(r.body.results.map((x: { key: string; value: unknown }) => [x.key, x.value])).toEqual([
        [key, key],
      ]);
    },
  );

  it.for(dotCases)(
    "Lightning GET …/%s reads exactly the key %j",
    async ([segment, key], { server, tenant, dots }) => {
      const r = await lineAs(server, tenant.users.viewer, "GET", `/lightning/collections/${dots}/${segment}`);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ key, value: key });
    },
  );

  it("REST DELETE x%2F..%2Fy deletes the key x/../y only; y remains", async ({
    server,
    tenant,
    collectionWith,
  }) => {
    const name = await collectionWith(["x/../y", "y"]);
    const r = await lineAs(server, tenant.users.editor, "DELETE", `/collections/${name}/x%2F..%2Fy`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ keys: ["x/../y"], deleted: 1 });
    expect(await storedKeys(server, tenant.project.id, name)).toEqual(["y"]);
  });
});

describe("1. escapes that decode to no UTF-8 are 400, never another key", () => {
  const badSegments = ["%E0%A4%A", "%C3%28", "a%E9", "%F0%9F%98"];

  it.for(badSegments)(
    "REST GET and DELETE …/%s: 400 naming the key, nothing deleted",
    async (segment, { server, tenant, collectionWith }) => {
      const name = await collectionWith(["%E0%A4", "a", "%"]);
      for (const method of ["GET", "DELETE"]) {
        const r = await lineAs(server, tenant.users.editor, method, `/collections/${name}/${segment}`);
        expect(r.status, `${method} ${segment}: ${r.text}`).toBe(400);
        expect(r.body).toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/key/) });
      }
      expect(await storedKeys(server, tenant.project.id, name)).toEqual(["%E0%A4", "a", "%"]);
    },
  );

  it.for(badSegments)(
    "Lightning GET, PUT and DELETE …/%s: 400 {error: Bad Request}, nothing written or deleted",
    async (segment, { server, tenant, collectionWith }) => {
      const name = await collectionWith(["%E0%A4", "a", "%"]);
      for (const [method, body] of [
        ["GET", undefined],
        ["PUT", { value: "new" }],
        ["DELETE", undefined],
      ] as const) {
        const r = await lineAs(
          server,
          tenant.users.editor,
          method,
          `/lightning/collections/${name}/${segment}`,
          body,
        );
        expect(r.status, `${method} ${segment}: ${r.text}`).toBe(400);
        expect(r.body).toEqual({ error: "Bad Request" });
      }
      expect(await storedKeys(server, tenant.project.id, name)).toEqual(["%E0%A4", "a", "%"]);
    },
  );
});

describe("1. a % that starts no escape is itself (WHATWG percent-decode; the adaptor sends `/c/100%`)", () => {
  it.for(["%ZZ", "a%2", "%", "100%"])(
    "REST GET and Lightning GET and DELETE …/%s address that literal key only",
    async (segment, { server, tenant, collectionWith }) => {
      const name = await collectionWith([segment, "a", "%25"]);
      const rest = await lineAs(server, tenant.users.editor, "GET", `/collections/${name}/${segment}`);
      expect(rest.status, rest.text).toBe(200);
      expect(rest.body.results.map((i: { key: string }) => i.key)).toEqual([segment]);
      const lightning = await lineAs(
        server,
        tenant.users.editor,
        "GET",
        `/lightning/collections/${name}/${segment}`,
      );
      expect(lightning.body).toMatchObject({ key: segment });
      const gone = await lineAs(
        server,
        tenant.users.editor,
        "DELETE",
        `/lightning/collections/${name}/${segment}`,
      );
      expect(gone.body).toEqual({ key: segment, deleted: 1, error: null });
      expect(await storedKeys(server, tenant.project.id, name)).toEqual(["a", "%25"]);
    },
  );
});

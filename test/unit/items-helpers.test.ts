import { describe, expect, it } from "vitest";
import * as getItems from "../../contracts/items/get-items.js";
import {
  decodeCursor,
  decodeLightningCursor,
  encodeCursor,
  encodeLightningCursor,
} from "../../server/services/cursor.js";
import { keyMatch, keyProblem, patternProblem } from "../../server/services/patterns.js";
import { microsToIso, parsePreciseInstant } from "../../contracts/instants.js";
import { withMeta } from "../../server/services/items.js";

const bounds = (text: string) => {
  const i = parsePreciseInstant(text);
  return [microsToIso(i.startUs), microsToIso(i.endUs)];
};

describe("time filters: ISO 8601 with precision", () => {
  it("a date alone is the whole UTC day", () => {
    expect(bounds("2024-10-08")).toEqual(["2024-10-08T00:00:00.000000Z", "2024-10-08T23:59:59.999999Z"]);
  });
  it("a timestamp at second precision covers that whole second", () => {
    expect(bounds("2024-10-08T12:00:00Z")).toEqual([
      "2024-10-08T12:00:00.000000Z",
      "2024-10-08T12:00:00.999999Z",
    ]);
  });
  it("minutes, fractions and offsets", () => {
    expect(bounds("2024-10-08T12:30")).toEqual([
      "2024-10-08T12:30:00.000000Z",
      "2024-10-08T12:30:59.999999Z",
    ]);
    expect(bounds("2024-10-08T12:00:00.5Z")).toEqual([
      "2024-10-08T12:00:00.500000Z",
      "2024-10-08T12:00:00.599999Z",
    ]);
    expect(bounds("2024-10-08T12:00:00.123456Z")).toEqual([
      "2024-10-08T12:00:00.123456Z",
      "2024-10-08T12:00:00.123456Z",
    ]);
    expect(bounds("2024-10-08T12:00:00.1234567Z")).toEqual([
      "2024-10-08T12:00:00.123457Z",
      "2024-10-08T12:00:00.123456Z",
    ]);
    expect(bounds("2024-10-08T02:00:00+02:00")).toEqual([
      "2024-10-08T00:00:00.000000Z",
      "2024-10-08T00:00:00.999999Z",
    ]);
    expect(bounds("2024-10-07T22:00:00-0200")).toEqual([
      "2024-10-08T00:00:00.000000Z",
      "2024-10-08T00:00:00.999999Z",
    ]);
    expect(bounds("2024-02-29")[0]).toBe("2024-02-29T00:00:00.000000Z");
    expect(bounds("1969-12-31T23:59:59.9Z")).toEqual([
      "1969-12-31T23:59:59.900000Z",
      "1969-12-31T23:59:59.999999Z",
    ]);
  });
  it.each([
    "2024-13-01",
    "2023-02-29",
    "2024-10-08T24:00:00Z",
    "2024-10-08T12:60Z",
    "2024-10-08T12:00:60Z",
    "2024-10-08T12:00:00+25:00",
    "yesterday",
    "2024-10-8",
    "2024-10-08T12",
    "2024-10-08 12:00:00",
    "0000-01-01",
    "",
  ])("rejects %j", (text) => {
    expect(() => parsePreciseInstant(text)).toThrow();
  });
});

describe("key patterns", () => {
  it("translates * and escapes LIKE's own wildcards", () => {
    expect(keyMatch(undefined)).toEqual({ kind: "all" });
    expect(keyMatch("**")).toEqual({ kind: "all" });
    expect(keyMatch("a%b_c\\d")).toEqual({ kind: "exact", key: "a%b_c\\d" });
    expect(keyMatch("a%*_\\*")).toEqual({ kind: "like", like: "a\\%%\\_\\\\%" });
    expect(keyMatch("a**b")).toEqual({ kind: "like", like: "a%b" });
  });
  it("validates keys and patterns", () => {
    expect(keyProblem("ok", 255)).toBeNull();
    expect(keyProblem("", 255)).toMatch(/empty/);
    expect(keyProblem("a\u0000", 255)).toMatch(/control/);
    expect(keyProblem("a\u0085", 255)).toMatch(/control/);
    expect(keyProblem("\ud800", 255)).toMatch(/surrogate/);
    expect(keyProblem("😀".repeat(255), 255)).toBeNull();
    expect(keyProblem("😀".repeat(256), 255)).toMatch(/256 characters/);
    expect(patternProblem("x".repeat(11), 10)).toMatch(/MAX_PATTERN_LENGTH/);
  });
});

describe("cursors", () => {
  it("round-trips and refuses other queries and garbage", () => {
    const keyset = {
      position: { xid: "900", seq: "42" },
      pending: [
        { xid: "899", after: "0" },
        { xid: "7", after: "40" },
      ],
    };
    const c = encodeCursor({ keyset, offset: 10 }, "fp");
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(c, "fp")).toEqual({ keyset, offset: 10 });
    const bare = encodeCursor(
      { keyset: { position: { xid: "0", seq: "42" }, pending: [] }, offset: 3 },
      "fp",
    );
    expect(decodeCursor(bare, "fp")).toEqual({
      keyset: { position: { xid: "0", seq: "42" }, pending: [] },
      offset: 3,
    });
    expect(() => decodeCursor(c, "other")).toThrow(/different query/);
    expect(() => decodeCursor("not a cursor!", "fp")).toThrow();
    expect(() => decodeCursor(Buffer.from("1.x.1.fp").toString("base64url"), "fp")).toThrow();
    expect(() => decodeCursor(Buffer.from("2.1.2.0.fp.3-x").toString("base64url"), "fp")).toThrow();
    expect(() =>
      decodeCursor(Buffer.from("2.1.99999999999999999999.0.fp.").toString("base64url"), "fp"),
    ).toThrow();
  });
  it("reads a cursor issued before insertion positions (a sequence number only) as ins_xid 0", () => {
    const old = Buffer.from("1.42.10.fp").toString("base64url");
    expect(decodeCursor(old, "fp")).toEqual({
      keyset: { position: { xid: "0", seq: "42" }, pending: [] },
      offset: 10,
    });
    expect(decodeLightningCursor(Buffer.from("42").toString("base64url"))).toEqual({
      position: { xid: "0", seq: "42" },
      pending: [],
    });
  });
  it("round-trips Lightning cursors with pending transactions", () => {
    const keyset = { position: { xid: "5", seq: "6" }, pending: [{ xid: "4", after: "0" }] };
    const c = encodeLightningCursor(keyset);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeLightningCursor(c)).toEqual(keyset);
    expect(() => decodeLightningCursor(Buffer.from("5.6.4").toString("base64url"))).toThrow();
  });
});

describe("GET query contract", () => {
  const ok = (q: Record<string, string>) => getItems.query.safeParse(q);
  it("coerces limit, offset and meta explicitly", () => {
    expect(ok({ limit: "5", offset: "0", meta: "1" }).data).toEqual({ limit: 5, offset: 0, meta: true });
    expect(ok({ meta: "false" }).data).toEqual({ meta: false });
    expect(ok({ meta: "0" }).data).toEqual({ meta: false });
  });
  it.each([
    { limit: "0" },
    { limit: "-1" },
    { limit: "abc" },
    { limit: "1.5" },
    { limit: "" },
    { offset: "-1" },
    { meta: "yes" },
    { created_after: "2024-13-01" },
    { project_id: "nope" },
    { extra: "1" },
    { cursor: "x", offset: "1" },
  ])("rejects %j", (q) => {
    const r = getItems.query.safeParse(q);
    expect(r.success).toBe(false);
  });
});

describe("_meta", () => {
  it("adds _meta {created, updated, version} to objects only, replacing one the object had", () => {
    expect(withMeta("{}", "c", "u", "7")).toBe('{"_meta":{"created":"c","updated":"u","version":7}}');
    expect(JSON.parse(withMeta('{"a":1}', "c", "u", "7"))).toEqual({
      a: 1,
      _meta: { created: "c", updated: "u", version: 7 },
    });
    expect(JSON.parse(withMeta('{"_meta":5,"a":"\\"_meta\\""}', "c", "u", "7"))).toEqual({
      a: '"_meta"',
      _meta: { created: "c", updated: "u", version: 7 },
    });
    expect(withMeta("[1]", "c", "u", "7")).toBe("[1]");
    expect(withMeta('"s"', "c", "u", "7")).toBe('"s"');
    expect(withMeta("12345678901234567890123", "c", "u", "7")).toBe("12345678901234567890123");
  });
});

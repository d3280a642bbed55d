import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonDepth } from "../../server/services/json-depth.js";

// jsonDepth (server/services/json-depth.ts) bounds the nesting of bodies and values without parsing them.

/** The depth of a parsed value, for reference. */
const depthOf = (v: unknown): number =>
  v !== null && typeof v === "object" ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf)) : 0;

describe("jsonDepth", () => {
  it("agrees with the parsed value's depth on any JSON text", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(jsonDepth(text)).toBe(depthOf(JSON.parse(text)));
      }),
      { numRuns: 500 },
    );
  });

  it("does not count brackets inside strings, whatever their escapes", () => {
    expect(jsonDepth(String.raw`["[[{", "\"[", "\\", "\\\"]]]", {"k\\": "}}"}]`)).toBe(2);
    expect(jsonDepth(String.raw`"\\\\"`)).toBe(0);
    expect(jsonDepth(String.raw`[["\\"],[["\""]]]`)).toBe(3);
  });

  it("stops counting past the limit, and ends on unterminated strings", () => {
    expect(jsonDepth("[".repeat(1000), 10)).toBe(11);
    expect(jsonDepth('[["abc', 10)).toBe(2);
  });
});

import fc from "fast-check";
import { expect } from "vitest";
import { it } from "../support/fixtures.js";
import { call, keyPath } from "../support/items.js";

// SPEC §3.5 against a reference matcher: `*` is any run of characters, everything else is literal.

function referenceMatch(pattern: string, key: string): boolean {
  const parts = pattern.split("*");
  if (parts.length === 1) return pattern === key;
  if (!key.startsWith(parts[0]!)) return false;
  let at = parts[0]!.length;
  for (const middle of parts.slice(1, -1)) {
    const found = key.indexOf(middle, at);
    if (found < 0) return false;
    at = found + middle.length;
  }
  const last = parts[parts.length - 1]!;
  return key.length - last.length >= at && key.endsWith(last);
}

const alphabet = ["a", "b", "A", "*", "%", "_", "\\", "'", '"', "é", "😀", "/", " ", "?", "#", "+"];
const text = (min: number, max: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map((cs) => cs.join(""));

it("the service matches exactly what the reference matcher matches", async ({ server, tenant }) => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(text(1, 6), { minLength: 1, maxLength: 25 }),
      fc.array(text(1, 7), { minLength: 1, maxLength: 6 }),
      async (keys, randomPatterns) => {
        const name = await tenant.collection();
        const w = await call(
          server,
          tenant.users.editor,
          "POST",
          `/collections/${name}`,
          keys.map((key) => ({ key, value: key })),
        );
        expect(w.status).toBe(201);
        // Patterns made from the keys themselves, with parts replaced by `*`, match something more often.
        const derived = keys
          .slice(0, 3)
          .map((k, i) => [...k].map((c, j) => ((i + j) % 3 === 0 ? "*" : c)).join(""));
        for (const pattern of [...randomPatterns, ...derived]) {
          const r = await call(
            server,
            tenant.users.viewer,
            "GET",
            `/collections/${name}/${keyPath(pattern)}`,
          );
          expect(r.status).toBe(200);
          const got = r.body.results.map((x: { key: string }) => x.key);
          expect(got, `pattern ${JSON.stringify(pattern)}`).toEqual(
            keys.filter((k) => referenceMatch(pattern, k)),
          );
        }
      },
    ),
    { numRuns: 40 },
  );
});

it("the reference matcher itself agrees with a regular expression", () => {
  fc.assert(
    fc.property(text(0, 8), text(1, 8), (key, pattern) => {
      const re = new RegExp(
        "^" +
          pattern
            .split("*")
            .map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
            .join("[\\s\\S]*") +
          "$",
      );
      expect(referenceMatch(pattern, key)).toBe(re.test(key));
    }),
    { numRuns: 2000 },
  );
});

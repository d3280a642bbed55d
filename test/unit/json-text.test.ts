import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  JsonTextError,
  jsonTextOf,
  minifyJson,
  parseJsonBody,
  RECORDED_LEVELS,
  withoutTopLevelMember,
} from "../../server/services/json-text.js";

// server/services/json-text.ts: a value's JSON text kept exactly as written (SPEC §1), only whitespace
// outside strings removed.

const DEPTH = 64;

/** The error parseJsonBody throws for `text`. */
function failure(text: string, maxDepth = DEPTH): JsonTextError {
  try {
    parseJsonBody(text, maxDepth);
  } catch (e) {
    expect(e).toBeInstanceOf(JsonTextError);
    return e as JsonTextError;
  }
  throw new Error(`parsed: ${text}`);
}

describe("parseJsonBody: exact member texts", () => {
  it("keeps every number spelling", () => {
    const numbers = [
      "9007199254740993",
      "1.0",
      "1e400",
      "-0",
      "1E+2",
      "0.10",
      "-1.5e-7",
      "123456789012345678901234567890",
      "0",
      "-0.0e0",
    ];
    const text = `[${numbers.map((n) => `{"key":"k","value":${n}}`).join(",")}]`;
    const p = parseJsonBody(text, DEPTH);
    const items = p.value as { value: number }[];
    expect(items.map((it) => p.rawText(it, "value"))).toEqual(numbers);
    expect(items.map((it) => it.value)).toEqual(numbers.map((n) => JSON.parse(n)));
    expect(Object.is(items[3]!.value, -0)).toBe(true);
    const value = parseJsonBody(`{"value":{"a":${numbers.join(',"b":')}}}`, DEPTH);
    expect(value.rawText(value.value as object, "value")).toBe(`{"a":${numbers.join(',"b":')}}`);
  });

  it("keeps strings byte for byte, escapes as written", () => {
    const strings = [
      String.raw`"\u00e9"`,
      String.raw`"\""`,
      String.raw`"\\"`,
      String.raw`"\u2028"`,
      '"\u2028 raw"',
      String.raw`"\/\b\f\n\r\t"`,
      String.raw`"\uD83D\ude00"`,
      '"😀é"',
      String.raw`"a \" } ] , : { ["`,
      String.raw`"\\\""`,
      '""',
      String.raw`"\u0000"`,
    ];
    const text = `[${strings.map((s) => `{"key":${s},"value":${s}}`).join(" , ")}]`;
    const p = parseJsonBody(text, DEPTH);
    const items = p.value as { key: string; value: string }[];
    expect(items.map((it) => p.rawText(it, "value"))).toEqual(strings);
    expect(items.map((it) => p.rawText(it, "key"))).toEqual(strings);
    expect(items.map((it) => it.value)).toEqual(strings.map((s) => JSON.parse(s)));
  });

  it("removes whitespace outside strings, everywhere, and only there", () => {
    const text =
      ' \r\n\t[ \n {  "key" :\t"k 1" ,\r\n "value"\n:\n{ "a" : [ 1.0 ,\t2 , { "b" : " x \\t y " } ] , "c" : { } , "d" : [ ] } \n} \t]\n ';
    const p = parseJsonBody(text, DEPTH);
    const [item] = p.value as { value: { a: unknown[] } }[];
    expect(p.rawText(item!, "value")).toBe('{"a":[1.0,2,{"b":" x \\t y "}],"c":{},"d":[]}');
    expect(p.rawText(item!, "key")).toBe('"k 1"');
    expect(p.rawText(item!.value, "a")).toBe('[1.0,2,{"b":" x \\t y "}]');
    expect(p.rawText(item!.value.a, 0)).toBeUndefined(); // level 4: not recorded
    expect(p.rootText()).toBe('[{"key":"k 1","value":{"a":[1.0,2,{"b":" x \\t y "}],"c":{},"d":[]}}]');
    expect(p.rawText(p.value as object, 0)).toBe(
      '{"key":"k 1","value":{"a":[1.0,2,{"b":" x \\t y "}],"c":{},"d":[]}}',
    );
  });

  it("nested objects and arrays come back whole, minified", () => {
    const value = '{"a":{"b":{"c":{"d":[1,[2,[3,{"e":1.50}]]]}}},"f":[[],{}],"g":"}"}';
    const p = parseJsonBody(`[{"key":"k","value":${value}}]`, DEPTH);
    const [item] = p.value as { value: unknown }[];
    expect(p.rawText(item!, "value")).toBe(value);
    expect(JSON.parse(p.rawText(item!, "value")!)).toEqual(item!.value);
  });

  it("of a name given twice, the last member (the one JSON.parse keeps)", () => {
    const text = '[{"key":"a","value":1.0,"value":{"x":2.50},"key":"b"},{"value":[1],"key":"c","value":"v"}]';
    const p = parseJsonBody(text, DEPTH);
    const items = p.value as { key: string; value: unknown }[];
    expect(items).toEqual([
      { key: "b", value: { x: 2.5 } },
      { key: "c", value: "v" },
    ]);
    expect(p.rawText(items[0]!, "value")).toBe('{"x":2.50}');
    expect(p.rawText(items[0]!, "key")).toBe('"b"');
    expect(p.rawText(items[1]!, "value")).toBe('"v"');
    // A container given twice: the nodes under the kept one are the ones rawText answers for.
    const twice = parseJsonBody('{"items":[{"key":"x","value":1}],"items":[{"key":"y","value":2.0}]}', DEPTH);
    const kept = (twice.value as { items: object[] }).items;
    expect(twice.rawText(kept[0]!, "value")).toBe("2.0");
    expect(twice.rawText(twice.value as object, "items")).toBe('[{"key":"y","value":2.0}]');
  });

  it("member names are compared unescaped", () => {
    const text = String.raw`[{"k\u0065y":"a","val\u0075e":1.0},{"key":"b","\u0076\u0061\u006C\u0075\u0065":[1.0],"value":2.0,"valu\u0065":3.0},{"key":"q\"","a\"b":"x","a\\b":"y","\u00e9":"z"}]`;
    const p = parseJsonBody(text, DEPTH);
    const items = p.value as Record<string, unknown>[];
    expect(p.rawText(items[0]!, "value")).toBe("1.0");
    expect(p.rawText(items[0]!, "key")).toBe('"a"');
    expect(p.rawText(items[1]!, "value")).toBe("3.0");
    expect(p.rawText(items[2]!, 'a"b')).toBe('"x"');
    expect(p.rawText(items[2]!, "a\\b")).toBe('"y"');
    expect(p.rawText(items[2]!, "é")).toBe('"z"');
    expect(p.rawText(items[2]!, "a")).toBeUndefined();
    expect(p.rawText(items[2]!, "valu")).toBeUndefined();
  });

  it("large objects: the lookup by name still keeps the last member", () => {
    const names = Array.from({ length: 50 }, (_, i) => `n${i % 20}`);
    const text = `{${names.map((n, i) => `"${n}":${i}.0`).join(",")},"value":"v","val\\u0075e":1e1}`;
    const p = parseJsonBody(text, DEPTH);
    const root = p.value as object;
    for (let i = 0; i < 20; i++) expect(p.rawText(root, `n${i}`)).toBe(`${i + (i < 10 ? 40 : 20)}.0`);
    expect(p.rawText(root, "value")).toBe("1e1");
    expect(p.rawText(root, "n20")).toBeUndefined();
  });

  it('both upsert body shapes: [{key, value}] and {"items": [{key, value}]}', () => {
    const items =
      '[{"key":"a","value":{"id":9007199254740993}},{"key":"b","value":[1e400]},{"key":"c","value":-0,"extra":{"x":1.0}}]';
    for (const text of [items, `{"items":${items}}`, `{ "other" : 1.0 , "items" : ${items} }`]) {
      const p = parseJsonBody(text, DEPTH);
      const list = (Array.isArray(p.value) ? p.value : (p.value as { items: object[] }).items) as object[];
      expect(list.map((it) => p.rawText(it, "value"))).toEqual(['{"id":9007199254740993}', "[1e400]", "-0"]);
      expect(p.rawText(list[2]!, "extra")).toBe('{"x":1.0}');
      // In any order, and more than once.
      expect(p.rawText(list[1]!, "value")).toBe("[1e400]");
      expect(p.rawText(list[0]!, "key")).toBe('"a"');
    }
  });

  it("items looked up in any order, many times", () => {
    const n = 300;
    const text = JSON.stringify({
      items: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: { i } })),
    }).replaceAll('"i":', '"i":0.5e1,"i":');
    const p = parseJsonBody(text, DEPTH);
    const list = (p.value as { items: object[] }).items;
    const order = Array.from({ length: n }, (_, i) => (i * 7919) % n);
    for (const i of [...order, ...order.reverse()])
      expect(p.rawText(list[i]!, "value")).toBe(`{"i":0.5e1,"i":${i}}`);
    // The values of an array body are level 3: recorded when first asked for, in any order.
    const arrayBody = parseJsonBody(text.slice('{"items":'.length, -1), DEPTH);
    const items = arrayBody.value as { value: object }[];
    for (const i of order) expect(arrayBody.rawText(items[i]!.value, "i")).toBe(String(i));
    for (const i of order) expect(arrayBody.rawText(items[i]!, "value")).toBe(`{"i":0.5e1,"i":${i}}`);
  });

  it("a bare value: rootText is the whole text, rawText answers for its first three levels", () => {
    const text = ' { "a" : 1.0 , "b" : { "c" : [ 1e400 , { "d" : { "e" : -0 } } ] } } ';
    const p = parseJsonBody(text, DEPTH);
    const v = p.value as { a: number; b: { c: [number, { d: { e: number } }] } };
    expect(p.rootText()).toBe('{"a":1.0,"b":{"c":[1e400,{"d":{"e":-0}}]}}');
    expect(p.rawText(v, "a")).toBe("1.0");
    expect(p.rawText(v.b, "c")).toBe('[1e400,{"d":{"e":-0}}]');
    expect(p.rawText(v.b.c, 1)).toBe('{"d":{"e":-0}}');
    // Level 4 and below are not recorded.
    expect(p.rawText(v.b.c[1], "d")).toBeUndefined();
    // Not a node of this body, not a member, not an index.
    expect(p.rawText({ a: 1 }, "a")).toBeUndefined();
    expect(p.rawText(v, "z")).toBeUndefined();
    expect(p.rawText(v.b.c, 2)).toBeUndefined();
    expect(p.rawText(v.b.c, -1)).toBeUndefined();
    expect(p.rawText(v.b.c, "0")).toBeUndefined();
    for (const scalar of ["1.0", ' "x\\u0041" ', "\n-0\n", "null", "1e400"]) {
      const s = parseJsonBody(scalar, DEPTH);
      expect(s.rootText()).toBe(scalar.trim());
      expect(s.value).toEqual(JSON.parse(scalar));
    }
    const untouched = '{"a":[1.0,"b c"]}';
    expect(parseJsonBody(untouched, DEPTH).rootText()).toBe(untouched);
  });

  it("depth: nesting beyond maxDepth is a 'depth' error, also when the text is invalid further on", () => {
    expect(parseJsonBody("[[[1]]]", 3).value).toEqual([[[1]]]);
    expect(parseJsonBody('[{"key":"k","value":{"a":[{"b":1}]}}]', 5).value).toBeDefined();
    for (const [text, max] of [
      ["[[[[1]]]]", 3],
      ['[{"key":"k","value":{"a":[{"b":1}]}}]', 4],
      ['{"items":[{"key":"k","value":[[[[[[]]]]]]}]}', 6],
      ["[".repeat(100_000) + "]".repeat(100_000), 256],
      ["[".repeat(1000), 64], // unterminated
      ['{"a" 1, "b": ' + "[".repeat(100), 64], // invalid before the nesting
      ['["]]]]]]", ' + "{".repeat(70), 64],
    ] as const) {
      const e = failure(text, max);
      expect(e.kind, text.slice(0, 40)).toBe("depth");
      expect(e.message).toBe(`Request body is nested more than ${max} levels deep (MAX_JSON_DEPTH)`);
    }
    // Brackets inside strings do not count.
    expect(parseJsonBody(`["${"[{".repeat(100)}\\"[[[["]`, 2).value).toEqual([`${"[{".repeat(100)}"[[[[`]);
  });

  it("invalid JSON: a 'syntax' error with JSON.parse's own message", () => {
    for (const text of [
      "",
      " ",
      "[1,]",
      '{"a":1,}',
      '{"a" 1}',
      "[1] x",
      '"abc',
      "{'a':1}",
      "01",
      "[1.]",
      "tru",
      '["\\x"]',
      '{"\\x":1}',
      "[\u0001]",
      '["a\u0001"]',
      "\ufeff[]",
      "[1 2]",
      '{"a":1 "b":2}',
      "{,}",
      "[,1]",
      '{"a"}',
      "}",
      "NaN",
      "[-]",
      "[]]",
    ]) {
      let parseMessage = "";
      try {
        JSON.parse(text);
      } catch (e) {
        parseMessage = (e as Error).message;
      }
      expect(parseMessage, text).not.toBe("");
      const e = failure(text);
      expect(e.kind, text).toBe("syntax");
      expect(e.message).toBe(`Request body is not valid JSON: ${parseMessage}`);
    }
  });
});

describe("minifyJson", () => {
  it("removes JSON whitespace outside strings only", () => {
    expect(minifyJson(' { "a b" : [ 1 ,\t2\r\n] , "c" : "\\" x " }\n')).toBe('{"a b":[1,2],"c":"\\" x "}');
    expect(minifyJson('"  "')).toBe('"  "');
    expect(minifyJson(" 1.0 ")).toBe("1.0");
    expect(minifyJson('["\\\\", " "]')).toBe('["\\\\"," "]');
  });

  it("returns the same text when there is nothing to remove", () => {
    const text = '{"a":[1.0,"x y"],"b":"\\u2028"}';
    expect(minifyJson(text)).toBe(text);
    expect(minifyJson("")).toBe("");
  });
});

describe("jsonTextOf", () => {
  it("JSON.stringify within the depth limit, null beyond", () => {
    expect(jsonTextOf({ a: [1, "é"] }, 2)).toBe('{"a":[1,"é"]}');
    expect(jsonTextOf([[[1]]], 3)).toBe("[[[1]]]");
    expect(jsonTextOf([[[1]]], 2)).toBeNull();
    expect(jsonTextOf("x", 2)).toBe('"x"');
    expect(jsonTextOf(null, 2)).toBe("null");
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(jsonTextOf(deep, 256)).toBeNull();
    expect(() => jsonTextOf(undefined, 2)).toThrow(TypeError);
    expect(() => jsonTextOf(1n, 2)).toThrow(TypeError);
  });
});

describe("withoutTopLevelMember", () => {
  it("removes every top-level member of that name, however spelled, keeping every other byte", () => {
    expect(
      withoutTopLevelMember('{"_meta":1,"a":{"_meta":2},"_m\\u0065ta":[3],"b":1.0,"_meta":4}', "_meta"),
    ).toBe('{"a":{"_meta":2},"b":1.0}');
    expect(withoutTopLevelMember('{"_meta":{"x":1}}', "_meta")).toBe("{}");
    expect(withoutTopLevelMember('{"a":1e400,"_meta":1}', "_meta")).toBe('{"a":1e400}');
    expect(withoutTopLevelMember('{"_meta":1,"a":-0}', "_meta")).toBe('{"a":-0}');
    expect(withoutTopLevelMember('{"a":"\\"_meta\\":1","_meta_":1,"meta":2}', "_meta")).toBe(
      '{"a":"\\"_meta\\":1","_meta_":1,"meta":2}',
    );
    expect(withoutTopLevelMember('{ "a" : 1.0 , "_meta" : 1 , "b" : 2 }', "_meta")).toBe(
      '{ "a" : 1.0 , "b" : 2 }',
    );
    expect(withoutTopLevelMember(' { "_meta" : 1 } ', "_meta")).toBe(" {  } ");
  });

  it("returns the text itself when there is nothing to remove", () => {
    const text = '{"a":{"_meta":1}}';
    expect(withoutTopLevelMember(text, "_meta")).toBe(text);
    expect(withoutTopLevelMember("[1]", "_meta")).toBe("[1]");
    expect(withoutTopLevelMember('"_meta"', "_meta")).toBe('"_meta"');
    expect(withoutTopLevelMember("{}", "_meta")).toBe("{}");
  });

  it("rejects text that is not JSON", () => {
    expect(() => withoutTopLevelMember('{"_meta":1', "_meta")).toThrow(JsonTextError);
  });
});

// ---------------------------------------------------------------------------------------------------
// Property: random JSON texts, with random whitespace, number spellings, string escapes and repeated
// member names.

type Tree =
  | { kind: "scalar"; text: string }
  | { kind: "array"; elements: Tree[] }
  | { kind: "object"; members: { name: string; nameText: string; value: Tree }[] };

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "/": "\\/",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** A JS string as a JSON string literal, each code unit spelled raw, as \uXXXX, or with its short escape, as `choices` say. */
function spell(s: string, choices: number[]): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = ch.charCodeAt(0);
    const choice = choices[i % Math.max(choices.length, 1)] ?? 0;
    const hex = code.toString(16).padStart(4, "0");
    const mustEscape = ch === '"' || ch === "\\" || code < 0x20;
    if (choice === 1) out += "\\u" + (i % 2 ? hex.toUpperCase() : hex);
    else if (choice === 2 && SHORT_ESCAPES[ch]) out += SHORT_ESCAPES[ch];
    else if (mustEscape) out += SHORT_ESCAPES[ch] ?? "\\u" + hex;
    else out += ch;
  }
  return out + '"';
}

const unit = fc.oneof(
  fc.constantFrom(
    '"',
    "\\",
    "/",
    "\b",
    "\f",
    "\n",
    "\r",
    "\t",
    "\u0000",
    "\u001f",
    "\u2028",
    "\u2029",
    "é",
    "\ud83d",
    "\ude00",
    "\ud800",
    "a",
    " ",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
  ),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
);
const jsString = fc.array(unit, { maxLength: 8 }).map((units) => units.join(""));
const choices = fc.array(fc.nat(3), { minLength: 1, maxLength: 4 });
const stringText = fc.tuple(jsString, choices).map(([s, c]) => spell(s, c));
const numberText = fc.oneof(
  fc.constantFrom(
    "9007199254740993",
    "1.0",
    "1e400",
    "-0",
    "1E+2",
    "0.10",
    "-0.0",
    "1e-400",
    "123456789012345678901234567890.000",
  ),
  fc.stringMatching(/^-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,8})?([eE][+-]?[0-9]{1,3})?$/),
);
const scalar: fc.Arbitrary<Tree> = fc
  .oneof(numberText, stringText, fc.constantFrom("true", "false", "null"))
  .map((text) => ({ kind: "scalar", text }));
/** Names from a small pool, so that they repeat (and escaped spellings collide with plain ones). */
const name = fc
  .tuple(
    fc.constantFrom("key", "value", "_meta", "items", "a", "", "é", 'q"', "b\\s", "__proto__", "\u2028"),
    choices,
  )
  .map(([n, c]) => ({ name: n, nameText: spell(n, c) }));

const { tree } = fc.letrec<{ tree: Tree; array: Tree; object: Tree }>((tie) => ({
  tree: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalar, tie("array"), tie("object")),
  array: fc.array(tie("tree"), { maxLength: 5 }).map((elements) => ({ kind: "array", elements })),
  object: fc
    .array(fc.tuple(name, tie("tree")), { maxLength: 6 })
    .map((ms) => ({ kind: "object", members: ms.map(([n, value]) => ({ ...n, value })) })),
}));

const whitespace = fc.array(fc.constantFrom("", "", "", " ", "\n", "\t", "\r\n", "  \n\t "), {
  minLength: 1,
  maxLength: 40,
});

/** The tree's text with whitespace taken in turn from `ws` (the minified text when ws is [""]). */
function render(t: Tree, ws: string[]): string {
  let i = 0;
  const w = () => ws[i++ % ws.length]!;
  const go = (t: Tree): string => {
    if (t.kind === "scalar") return t.text;
    if (t.kind === "array") return "[" + w() + t.elements.map((e) => go(e) + w()).join("," + w()) + "]";
    return (
      "{" + w() + t.members.map((m) => m.nameText + w() + ":" + w() + go(m.value) + w()).join("," + w()) + "}"
    );
  };
  return w() + go(t) + w();
}
const minified = (t: Tree) => render(t, [""]);

/** The member JSON.parse keeps for each name: the last one. */
function keptMembers(t: Extract<Tree, { kind: "object" }>): Map<string, Tree> {
  const kept = new Map<string, Tree>();
  for (const m of t.members) kept.set(m.name, m.value);
  return kept;
}

describe("property: rawText is the minified source of the member JSON.parse kept", () => {
  it("for random texts", () => {
    fc.assert(
      fc.property(tree, whitespace, (t, ws) => {
        const text = render(t, ws);
        const p = parseJsonBody(text, DEPTH);
        expect(p.value).toEqual(JSON.parse(text));
        expect(p.rootText()).toBe(minified(t));
        expect(minifyJson(text)).toBe(minified(t));
        const check = (t: Tree, value: unknown, level: number) => {
          if (t.kind === "scalar") return;
          const container = value as object;
          if (level > RECORDED_LEVELS) {
            expect(
              p.rawText(container, t.kind === "array" ? 0 : (t.members[0]?.name ?? "a")),
            ).toBeUndefined();
            return;
          }
          if (t.kind === "array") {
            t.elements.forEach((e, i) => {
              const raw = p.rawText(container, i);
              expect(raw).toBe(minified(e));
              expect(JSON.parse(raw!)).toEqual((value as unknown[])[i]);
              check(e, (value as unknown[])[i], level + 1);
            });
            expect(p.rawText(container, t.elements.length)).toBeUndefined();
          } else {
            for (const [n, member] of keptMembers(t)) {
              const raw = p.rawText(container, n);
              expect(raw).toBe(minified(member));
              expect(JSON.parse(raw!)).toEqual((value as Record<string, unknown>)[n]);
              check(member, (value as Record<string, unknown>)[n], level + 1);
            }
            expect(p.rawText(container, "not a member")).toBeUndefined();
          }
        };
        check(t, p.value, 1);
      }),
      { numRuns: 1500 },
    );
  });

  it("for random upsert bodies of both shapes", () => {
    const item = fc.tuple(stringText, tree, fc.option(fc.tuple(name, tree), { nil: undefined }));
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), fc.boolean(), whitespace, (items, wrapped, ws) => {
        const list: Tree = {
          kind: "array",
          elements: items.map(([key, value, extra]) => ({
            kind: "object",
            members: [
              { name: "key", nameText: '"key"', value: { kind: "scalar", text: key } },
              { name: "value", nameText: spell("value", [1, 0]), value },
              ...(extra ? [{ ...extra[0], value: extra[1] }] : []),
            ],
          })),
        };
        const body: Tree = wrapped
          ? { kind: "object", members: [{ name: "items", nameText: '"items"', value: list }] }
          : list;
        const text = render(body, ws);
        const p = parseJsonBody(text, DEPTH);
        const parsed = (wrapped ? (p.value as { items: unknown[] }).items : p.value) as Record<
          string,
          unknown
        >[];
        items.forEach(([, , extra], i) => {
          const kept = keptMembers(list.elements[i] as Extract<Tree, { kind: "object" }>);
          expect(p.rawText(parsed[i]!, "value")).toBe(minified(kept.get("value")!));
          expect(p.rawText(parsed[i]!, "key")).toBe(minified(kept.get("key")!));
          if (extra) expect(p.rawText(parsed[i]!, extra[0].name)).toBe(minified(kept.get(extra[0].name)!));
          expect(JSON.parse(p.rawText(parsed[i]!, "value")!)).toEqual(parsed[i]!.value);
        });
      }),
      { numRuns: 500 },
    );
  });

  it("withoutTopLevelMember removes exactly the members of that name", () => {
    const object = fc
      .array(fc.tuple(name, tree), { maxLength: 8 })
      .map((ms): Extract<Tree, { kind: "object" }> => ({
        kind: "object",
        members: ms.map(([n, value]) => ({ ...n, value })),
      }));
    fc.assert(
      fc.property(
        object,
        fc.constantFrom("_meta", "value", "é", 'q"', "b\\s", "absent"),
        whitespace,
        (t, n, ws) => {
          const kept = t.members.filter((m) => m.name !== n);
          const expected = "{" + kept.map((m) => m.nameText + ":" + minified(m.value)).join(",") + "}";
          expect(withoutTopLevelMember(minified(t), n)).toBe(
            kept.length === t.members.length ? minified(t) : expected,
          );
          const spaced = withoutTopLevelMember(render(t, ws), n);
          expect(minifyJson(spaced)).toBe(expected);
          const want = JSON.parse(minified(t)) as Record<string, unknown>;
          delete want[n];
          expect(JSON.parse(spaced)).toEqual(want);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

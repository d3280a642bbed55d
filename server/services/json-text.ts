import { jsonDepth } from "./json-depth.js";

// JSON text kept exactly as it was written (SPEC §1: a stored value is never changed on the way in; a
// number keeps its exact text, only whitespace outside strings may go). JSON.parse validates a body and
// gives its value; a scanner over the same text records where each member of the outer containers was
// written, so that a member's own text can be stored instead of a re-serialization of its parsed value.
// Pure functions over strings: no I/O, nothing allocated per character.

/** A JSON text that is not valid JSON ("syntax") or that nests deeper than allowed ("depth"). */
export class JsonTextError extends Error {
  constructor(
    readonly kind: "syntax" | "depth",
    message: string,
  ) {
    super(message);
    this.name = "JsonTextError";
  }
}

/** A body parsed by parseJsonBody. */
export interface ParsedJsonBody {
  /** The value, exactly as JSON.parse gives it. */
  value: unknown;
  /**
   * The JSON text of `container[member]` as written in the body, minified (whitespace outside strings
   * removed; strings, escapes and number spellings untouched), for `container` an object or array of
   * `value` nested at most RECORDED_LEVELS deep (the root is level 1). Of a member named twice, the last
   * one (the one JSON.parse keeps); member names are compared once unescaped (`"val\u0075e"` is `value`).
   * Undefined when `container` is not such a node of this body, or has no such member / index.
   */
  rawText(container: object, member: string | number): string | undefined;
  /** The whole body's JSON text, minified (for a body that is the value itself, e.g. a PUT). */
  rootText(): string;
}

/**
 * Containers whose members rawText can answer for: the root (1), its members (2) and theirs (3). Those
 * of level 3 that are elements of an array (the items of `{"items": [...]}`) are recorded as the body
 * is scanned; those that are members of an object (the values of `[{"key", "value"}]`, which are rarely
 * asked for and may have many members) when first asked for.
 */
export const RECORDED_LEVELS = 3;

/**
 * Parses a request body (JSON.parse: same validation, same value) and records the exact text of the
 * members of every object and array nested at most RECORDED_LEVELS deep: enough for an upsert body
 * `[{"key", "value"}]` or `{"items": [{"key", "value"}]}` (use `rawText(item, "value")`).
 * Throws JsonTextError: kind "depth" when arrays and objects nest more than maxDepth levels (checked
 * first, as server/services/json-depth.ts does, so that a deep body is never parsed), "syntax" when the
 * text is not JSON (the message ends with JSON.parse's own).
 */
export function parseJsonBody(text: string, maxDepth: number): ParsedJsonBody {
  const scanner = new Scanner(text, maxDepth, RECORDED_LEVELS);
  let root: SpanNode | undefined;
  let scanned = true;
  try {
    root = scanner.root();
  } catch (e) {
    if (e !== SCAN_FAILED) throw e;
    scanned = false;
  }
  // The scanner stops at the first thing JSON does not allow, before it has seen the depth of the rest.
  if (!scanned && jsonDepth(text, maxDepth) > maxDepth) throw depthError(maxDepth);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new JsonTextError("syntax", `Request body is not valid JSON: ${(e as Error).message}`);
  }
  if (!scanned) throw new Error("json-text: the scanner rejected a text that JSON.parse accepts");
  const nodes = new NodeFinder(text, root, value);
  const whitespace = scanner.ws;
  return {
    value,
    rawText(container, member) {
      const node = nodes.nodeOf(container);
      if (node === undefined) return undefined;
      const spans = node.spans;
      let start: number;
      let end: number;
      if (node.kind === ARRAY) {
        if (
          typeof member !== "number" ||
          !Number.isInteger(member) ||
          member < 0 ||
          2 * member >= spans.length
        )
          return undefined;
        start = spans[2 * member]!;
        end = spans[2 * member + 1]!;
      } else {
        const m = lastMember(text, node, String(member));
        if (m < 0) return undefined;
        start = spans[3 * m + 1]!;
        end = spans[3 * m + 2]!;
      }
      return end < 0 ? minifyJson(text.slice(start, ~end)) : text.slice(start, end);
    },
    rootText: () => (whitespace ? minifyJson(text) : text),
  };
}

/**
 * Valid JSON text without its whitespace outside strings (strings are kept byte for byte). The text
 * itself when it has none, without copying it.
 */
export function minifyJson(text: string): string {
  let at = whitespaceAt(text, 0);
  if (at < 0) return text;
  const parts: string[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(text.slice(from, at));
    let c = text.charCodeAt(++at);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++at);
    from = at;
    at = whitespaceAt(text, at);
  }
  parts.push(text.slice(from));
  return parts.join("");
}

/**
 * The JSON text of a value that arrives already parsed (tRPC): JSON.stringify, or null when it nests
 * more than maxDepth levels (JSON.stringify would overflow the stack on values nested deep enough; a
 * RangeError from it is taken as too deep). Throws a TypeError for a value without a JSON text
 * (undefined, a function, a symbol) and whatever JSON.stringify throws otherwise (a BigInt, a cycle).
 */
export function jsonTextOf(value: unknown, maxDepth: number): string | null {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
  if (text === undefined) throw new TypeError(`a value of type ${typeof value} has no JSON text`);
  // Each level of nesting takes two characters: shorter text cannot be too deep (no scan needed).
  if (text.length <= 2 * maxDepth) return text;
  return jsonDepth(text, maxDepth) > maxDepth ? null : text;
}

/**
 * The JSON text of an object without its top-level member(s) named `name` (every one of them, also
 * when spelled with escapes), every other character kept: a removed member takes the comma that
 * separated it with it. The text itself when it has no such member, or is not an object. Meant for
 * stored values (valid JSON); throws a JsonTextError (syntax) for text that is not JSON.
 */
export function withoutTopLevelMember(objectJson: string, name: string): string {
  const scanner = new Scanner(objectJson, Infinity, 1);
  let root: SpanNode | undefined;
  try {
    root = scanner.root();
  } catch (e) {
    if (e === SCAN_FAILED) throw new JsonTextError("syntax", "The text is not valid JSON");
    throw e;
  }
  if (root === undefined || root.kind !== OBJECT) return objectJson;
  const spans = root.spans;
  const count = spans.length / 3;
  const plain = isPlainName(name);
  const kept: number[] = [];
  for (let m = 0; m < count; m++) if (!nameIs(objectJson, root, m, name, plain)) kept.push(m);
  if (kept.length === count) return objectJson;
  const unflagged = (n: number) => (n < 0 ? ~n : n);
  const start = (m: number) => unflagged(spans[3 * m]!); // the name's opening quote
  const end = (m: number) => unflagged(spans[3 * m + 2]!); // past the value
  let out = objectJson.slice(0, start(0));
  for (let k = 0; k < kept.length; k++) {
    const m = kept[k]!;
    if (k > 0) out += objectJson.slice(end(kept[k - 1]!), start(kept[k - 1]! + 1)); // the separator that followed the previous kept member
    out += objectJson.slice(start(m), end(m));
  }
  return out + objectJson.slice(end(count - 1));
}

// ---------------------------------------------------------------------------------------------------
// The scanner.

const OBJECT = 0;
const ARRAY = 1;

/**
 * Where the members of one container were written. Objects: three numbers per member, the opening
 * quote of its name (bitwise-not when the name has an escape: then its unescaped text is in `names`),
 * the first character of its value, the end of its value (bitwise-not when the value has whitespace
 * outside strings). Arrays: two numbers per element, its start and end (end as for objects).
 */
interface SpanNode {
  kind: typeof OBJECT | typeof ARRAY;
  /** The nesting level: 1 for the root. */
  level: number;
  spans: number[];
  /** The node of each member that is a recorded container, by member index. */
  children: (SpanNode | undefined)[] | undefined;
  /** The unescaped name of each member whose name has an escape, by member index. */
  names: (string | undefined)[] | undefined;
  /** Name → index of its last member, built on the first lookup in a large object. */
  index: Map<string, number> | undefined;
}

/** A container's node, every field present from the start (one object shape for V8). */
const spanNode = (kind: SpanNode["kind"], level: number): SpanNode => ({
  kind,
  level,
  spans: [],
  children: undefined,
  names: undefined,
  index: undefined,
});

/** Thrown inside the scanner at the first thing JSON does not allow (a constant: nothing is allocated). */
const SCAN_FAILED = { scanFailed: true };

const depthError = (maxDepth: number) =>
  new JsonTextError("depth", `Request body is nested more than ${maxDepth} levels deep (MAX_JSON_DEPTH)`);

class Scanner {
  pos = 0;
  /** Whitespace outside strings was seen (since the last reset by the caller). */
  ws = false;

  constructor(
    readonly text: string,
    readonly maxDepth: number,
    readonly recordLevels: number,
  ) {}

  /** The whole text: one value between optional whitespace. The root's node, when it is a container. */
  root(): SpanNode | undefined {
    this.skipWs();
    const node = this.value(1, this.recordLevels >= 1);
    this.skipWs();
    if (this.pos !== this.text.length) throw SCAN_FAILED;
    return node;
  }

  private skipWs(): void {
    const t = this.text;
    let i = this.pos;
    let c = t.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
    do c = t.charCodeAt(++i);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09);
    this.pos = i;
    this.ws = true;
  }

  /** The node of the container at `start`, at nesting `level`, whose members were not recorded yet. */
  nodeAt(start: number, level: number): SpanNode {
    this.pos = start;
    return this.value(level, true)!;
  }

  /**
   * The value at pos (its first character), which would be at nesting `level` if a container; pos moves
   * past it. Its node when it is a container and `record` says to record it.
   */
  private value(level: number, record: boolean): SpanNode | undefined {
    const t = this.text;
    const i = this.pos;
    const c = t.charCodeAt(i);
    if (c === 0x22) {
      this.pos = stringEnd(t, i);
      return undefined;
    }
    if (c === 0x7b || c === 0x5b) {
      if (level > this.maxDepth) throw depthError(this.maxDepth);
      if (record) return c === 0x7b ? this.object(level) : this.array(level);
      this.skipContainer(level);
      return undefined;
    }
    // A number, true, false or null: the characters they are made of (JSON.parse checks the spelling).
    let j = i;
    for (
      let d = c;
      (d >= 0x30 && d <= 0x39) ||
      (d >= 0x61 && d <= 0x7a) ||
      d === 0x2d ||
      d === 0x2b ||
      d === 0x2e ||
      d === 0x45;
      d = t.charCodeAt(++j)
    );
    if (j === i) throw SCAN_FAILED;
    this.pos = j;
    return undefined;
  }

  private object(level: number): SpanNode {
    const t = this.text;
    const node = spanNode(OBJECT, level);
    const spans = node.spans;
    this.pos++;
    this.skipWs();
    if (t.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return node;
    }
    for (let m = 0; ; m++) {
      const nameStart = this.pos;
      if (t.charCodeAt(nameStart) !== 0x22) throw SCAN_FAILED;
      const nameEnd = stringEnd(t, nameStart);
      let escaped = false;
      for (let k = nameStart + 1; k < nameEnd - 1; k++) {
        if (t.charCodeAt(k) === 0x5c) {
          escaped = true;
          break;
        }
      }
      if (escaped) {
        let name: string;
        try {
          name = JSON.parse(t.slice(nameStart, nameEnd)) as string;
        } catch {
          throw SCAN_FAILED;
        }
        (node.names ??= [])[m] = name;
      }
      this.pos = nameEnd;
      this.skipWs();
      if (t.charCodeAt(this.pos) !== 0x3a) throw SCAN_FAILED;
      this.pos++;
      this.skipWs();
      const valueStart = this.pos;
      const outerWs = this.ws;
      this.ws = false;
      // A member at the last recorded level is recorded when first asked for (RECORDED_LEVELS).
      const child = this.value(level + 1, level + 1 < this.recordLevels);
      spans.push(escaped ? ~nameStart : nameStart, valueStart, this.ws ? ~this.pos : this.pos);
      this.ws ||= outerWs;
      if (child !== undefined) (node.children ??= [])[m] = child;
      this.skipWs();
      const c = t.charCodeAt(this.pos++);
      if (c === 0x2c) this.skipWs();
      else if (c === 0x7d) return node;
      else throw SCAN_FAILED;
    }
  }

  private array(level: number): SpanNode {
    const t = this.text;
    const node = spanNode(ARRAY, level);
    const spans = node.spans;
    this.pos++;
    this.skipWs();
    if (t.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return node;
    }
    for (let m = 0; ; m++) {
      const start = this.pos;
      const outerWs = this.ws;
      this.ws = false;
      const child = this.value(level + 1, level + 1 <= this.recordLevels);
      spans.push(start, this.ws ? ~this.pos : this.pos);
      this.ws ||= outerWs;
      if (child !== undefined) (node.children ??= [])[m] = child;
      this.skipWs();
      const c = t.charCodeAt(this.pos++);
      if (c === 0x2c) this.skipWs();
      else if (c === 0x5d) return node;
      else throw SCAN_FAILED;
    }
  }

  /**
   * Past the container at pos, at nesting `level`, without recording anything: brackets are counted
   * (strings jumped over with indexOf), the depth checked, whitespace noted. JSON.parse checks the rest.
   */
  private skipContainer(level: number): void {
    const t = this.text;
    const n = t.length;
    const max = this.maxDepth;
    let depth = level;
    let ws = false;
    for (let i = this.pos + 1; i < n; i++) {
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        // Jump to the closing quote: the first one not escaped by an odd run of backslashes.
        for (;;) {
          i = t.indexOf('"', i + 1);
          if (i < 0) throw SCAN_FAILED;
          if (t.charCodeAt(i - 1) !== 0x5c) break;
          let k = i - 2;
          while (t.charCodeAt(k) === 0x5c) k--;
          if ((i - 1 - k) % 2 === 0) break;
        }
      } else if (c === 0x7b || c === 0x5b) {
        if (++depth > max) throw depthError(max);
      } else if (c === 0x7d || c === 0x5d) {
        if (--depth < level) {
          this.pos = i + 1;
          if (ws) this.ws = true;
          return;
        }
      } else if (c <= 0x20) ws = true; // outside strings, valid JSON has no other character below 0x21
    }
    throw SCAN_FAILED;
  }
}

/** Past the closing quote of the string whose opening quote is at i. */
function stringEnd(t: string, i: number): number {
  for (;;) {
    i = t.indexOf('"', i + 1);
    if (i < 0) throw SCAN_FAILED;
    if (t.charCodeAt(i - 1) !== 0x5c) return i + 1;
    let k = i - 2;
    while (t.charCodeAt(k) === 0x5c) k--;
    if ((i - 1 - k) % 2 === 0) return i + 1;
  }
}

/** The position of the first JSON whitespace outside strings at or after i, or -1. */
function whitespaceAt(t: string, i: number): number {
  const n = t.length;
  for (; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x22) {
      for (;;) {
        i = t.indexOf('"', i + 1);
        if (i < 0) return -1;
        if (t.charCodeAt(i - 1) !== 0x5c) break;
        let k = i - 2;
        while (t.charCodeAt(k) === 0x5c) k--;
        if ((i - 1 - k) % 2 === 0) break;
      }
    } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) return i;
  }
  return -1;
}

/** A name without quote or backslash: it can only be written unescaped as itself, or with escapes. */
const isPlainName = (name: string) => name.indexOf('"') < 0 && name.indexOf("\\") < 0;

/** Whether member m of an object node is named `name`. */
function nameIs(t: string, node: SpanNode, m: number, name: string, plain: boolean): boolean {
  const start = node.spans[3 * m]!;
  if (start < 0) return node.names![m] === name;
  // Unescaped: the name's characters follow the quote, and the closing quote follows them.
  return plain && t.charCodeAt(start + 1 + name.length) === 0x22 && t.startsWith(name, start + 1);
}

/** The unescaped name of member m of an object node. */
function nameOf(t: string, node: SpanNode, m: number): string {
  const start = node.spans[3 * m]!;
  return start < 0 ? node.names![m]! : t.slice(start + 1, t.indexOf('"', start + 1));
}

/** The index of the last member of an object node named `name` (the one JSON.parse keeps), or -1. */
function lastMember(t: string, node: SpanNode, name: string): number {
  const count = node.spans.length / 3;
  if (count > 8) {
    let index = node.index;
    if (index === undefined) {
      index = node.index = new Map();
      for (let m = 0; m < count; m++) index.set(nameOf(t, node, m), m);
    }
    return index.get(name) ?? -1;
  }
  const plain = isPlainName(name);
  for (let m = count - 1; m >= 0; m--) if (nameIs(t, node, m, name, plain)) return m;
  return -1;
}

/**
 * Finds the recorded node of an object or array JSON.parse made: the two trees have the same shape and
 * are walked in parallel. Items are looked up in order, so the element after the last one found (or the
 * same one again) is tried first, by identity; after a few other lookups, every node goes into a Map.
 */
class NodeFinder {
  private seqNode: SpanNode | undefined;
  private seqArray: unknown[] | undefined;
  private seqIndex = 0;
  private searches = 0;
  private map: Map<object, SpanNode> | undefined;

  constructor(
    private readonly text: string,
    private readonly root: SpanNode | undefined,
    private readonly value: unknown,
  ) {}

  nodeOf(container: unknown): SpanNode | undefined {
    if (this.root === undefined || container === null || typeof container !== "object") return undefined;
    if (container === this.value) return this.root;
    if (this.map !== undefined) return this.map.get(container);
    const array = this.seqArray;
    if (array !== undefined) {
      const i = this.seqIndex;
      if (array[i] === container) return this.seqNode!.children![i];
      if (array[i + 1] === container) {
        this.seqIndex = i + 1;
        return this.seqNode!.children![i + 1];
      }
    }
    if (++this.searches <= 8) return this.find(this.root, this.value, container);
    this.map = new Map();
    this.bind(this.root, this.value);
    return this.map.get(container);
  }

  /** The node of `container` in the subtree of `node` (whose value is `value`); the next lookup starts after it. */
  private find(node: SpanNode, value: unknown, container: object): SpanNode | undefined {
    checkShape(node, value);
    if (value === container) return node;
    const children = node.children;
    if (node.kind === ARRAY) {
      if (children === undefined) return undefined;
      for (let m = 0; m < children.length; m++) {
        const child = children[m];
        if (child === undefined) continue;
        const found = this.find(child, (value as unknown[])[m], container);
        if (found === undefined) continue;
        if (found === child) {
          this.seqNode = node;
          this.seqArray = value as unknown[];
          this.seqIndex = m;
        }
        return found;
      }
      return undefined;
    }
    const lazy = node.level === RECORDED_LEVELS - 1;
    const count = node.spans.length / 3;
    for (let m = 0; m < count; m++) {
      const child = children?.[m];
      if (child === undefined && !(lazy && this.isContainer(node, m))) continue;
      const member = this.memberValue(node, value, m);
      if (member === NOT_KEPT) continue;
      if (child === undefined) {
        if (member === container) return this.recordMember(node, m);
        continue;
      }
      const found = this.find(child, member, container);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  private bind(node: SpanNode, value: unknown): void {
    checkShape(node, value);
    this.map!.set(value as object, node);
    const lazy = node.kind === OBJECT && node.level === RECORDED_LEVELS - 1;
    const count = node.kind === ARRAY ? node.spans.length / 2 : node.spans.length / 3;
    for (let m = 0; m < count; m++) {
      let child = node.children?.[m];
      if (child === undefined && !(lazy && this.isContainer(node, m))) continue;
      const member = this.memberValue(node, value, m);
      if (member === NOT_KEPT) continue;
      child ??= this.recordMember(node, m);
      this.bind(child, member);
    }
  }

  /** Whether member m of an object node is an object or an array. */
  private isContainer(node: SpanNode, m: number): boolean {
    const c = this.text.charCodeAt(node.spans[3 * m + 1]!);
    return c === 0x7b || c === 0x5b;
  }

  /** Records the members of member m of an object node, a container that was only skipped over. */
  private recordMember(node: SpanNode, m: number): SpanNode {
    const child = new Scanner(this.text, Infinity, node.level + 1).nodeAt(
      node.spans[3 * m + 1]!,
      node.level + 1,
    );
    (node.children ??= [])[m] = child;
    return child;
  }

  /** The value JSON.parse gave member m of the node, or NOT_KEPT for a member that a later one of the same name replaced. */
  private memberValue(node: SpanNode, value: unknown, m: number): unknown {
    if (node.kind === ARRAY) return (value as unknown[])[m];
    const name = nameOf(this.text, node, m);
    return lastMember(this.text, node, name) === m ? (value as Record<string, unknown>)[name] : NOT_KEPT;
  }
}

const NOT_KEPT = Symbol("not kept");

/**
 * V8 keeps the shape (hidden class) of a class's instances only while one of them lives: a full GC
 * between two requests would collect it, and with it the optimized code of the scanner (measured: a
 * 10,000-item body then parses 3 to 10 times slower). These instances keep the shapes alive.
 */
export const keptShapes: readonly object[] = [
  new Scanner("", 64, RECORDED_LEVELS),
  new Scanner("", Infinity, 1),
  new NodeFinder("", undefined, undefined),
];

function checkShape(node: SpanNode, value: unknown): void {
  if (value === null || typeof value !== "object" || Array.isArray(value) !== (node.kind === ARRAY)) {
    throw new Error("json-text: the scanner and JSON.parse disagree on the shape of the text");
  }
}

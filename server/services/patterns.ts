// Key patterns (SPEC §3.5): `*` matches any run of characters; every other character is literal.

/** The pattern as a SQL condition input: an exact key, a LIKE pattern (escape character `\`), or everything. */
export type KeyMatch = { kind: "all" } | { kind: "exact"; key: string } | { kind: "like"; like: string };

export function keyMatch(pattern: string | undefined): KeyMatch {
  if (pattern === undefined) return { kind: "all" };
  if (!pattern.includes("*")) return { kind: "exact", key: pattern };
  if (/^\*+$/.test(pattern)) return { kind: "all" };
  const like = pattern
    .replace(/\*+/g, "*")
    .split("*")
    .map((literal) => literal.replace(/[\\%_]/g, (c) => `\\${c}`))
    .join("%");
  return { kind: "like", like };
}

// Control characters can be neither in a key nor in a pattern (PostgreSQL text cannot even hold U+0000).
const loneSurrogateRe = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const controlRe = /[\u0000-\u001f\u007f-\u009f]/;

const surrogateRe = /[\uD800-\uDFFF]/;

/** Unicode code points in `text` (without building an array when there is no surrogate pair). */
const codePoints = (text: string) => (surrogateRe.test(text) ? [...text].length : text.length);

/** Why `key` is not a valid item key, or null (SPEC §1: 1..max code points, no control characters). */
export function keyProblem(key: string, maxLength: number, what = "key"): string | null {
  if (key.length === 0) return `${what} is empty`;
  if (loneSurrogateRe.test(key)) return `${what} contains an unpaired UTF-16 surrogate`;
  const length = codePoints(key);
  if (length > maxLength) return `${what} has ${length} characters; at most ${maxLength} are allowed`;
  if (controlRe.test(key)) return `${what} contains a control character`;
  return null;
}

/** Why `pattern` is not a valid key pattern, or null. */
export function patternProblem(pattern: string, maxLength: number): string | null {
  if (pattern.length === 0) return "key pattern is empty";
  if (loneSurrogateRe.test(pattern)) return "key pattern contains an unpaired UTF-16 surrogate";
  const length = codePoints(pattern);
  if (length > maxLength)
    return `key pattern has ${length} characters; at most ${maxLength} are allowed (MAX_PATTERN_LENGTH)`;
  if (controlRe.test(pattern)) return "key pattern contains a control character";
  return null;
}

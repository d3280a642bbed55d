// Nesting depth of JSON text, without parsing it: deeply nested values would overflow the stack of
// JSON.stringify and of every reader after it, so MAX_JSON_DEPTH bounds them (SPEC §6).

/** The deepest nesting of arrays and objects in `text` (0 for a scalar); stops counting past `stopAbove`. */
export function jsonDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: jump to its closing quote (indexOf is much faster than a character loop over the
      // string values that make up most of a body), past quotes escaped by an odd run of backslashes.
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return max; // unterminated: not JSON, the parser says so
        let backslashes = 0;
        while (text.charCodeAt(i - 1 - backslashes) === 0x5c) backslashes++;
        if (backslashes % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max && (max = depth) > stopAbove) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

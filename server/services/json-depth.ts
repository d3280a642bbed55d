// Nesting depth of JSON text, without parsing it: deeply nested values would overflow the stack of
// JSON.stringify and of every reader after it, so MAX_JSON_DEPTH bounds them (SPEC §6).

/** The deepest nesting of arrays and objects in `text` (0 for a scalar); stops counting past `stopAbove`. */
export function jsonDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max && (max = depth) > stopAbove) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

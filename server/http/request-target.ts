import { badRequest } from "../errors.js";

/**
 * The request target as sent (SPEC §3.6): the path and the query exactly as they are on the request
 * line, never resolved, normalised or decoded. WHATWG URL would turn `\` into `/` and resolve `..`,
 * which rewrites keys; routes match on the raw path and decode each segment once (decodePathSegment).
 */
export interface RequestTarget {
  /** The raw path, from the first `/` up to `?` (an absolute-form target loses its scheme and authority). */
  path: string;
  /** The raw query without its `?` ("" when there is none). */
  search: string;
}

export function requestTarget(url: string | undefined): RequestTarget {
  let target = url ?? "/";
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i.exec(target);
  if (absolute) target = target.slice(absolute[0].length) || "/";
  const q = target.indexOf("?");
  return q < 0 ? { path: target, search: "" } : { path: target.slice(0, q), search: target.slice(q + 1) };
}

/**
 * One path segment (or the rest of a path, for a key) percent-decoded exactly once, as WHATWG's
 * percent-decode does it: `%2F` is `/`, `%5C` and a raw `\` are `\`, `..` is `..`, and a `%` that starts
 * no escape is itself (the OpenFn adaptor sends `/c/100%` for the key `100%`). 400 naming `what` when the
 * decoded bytes are not UTF-8 (`%E9` alone, or a truncated sequence).
 */
export function decodePathSegment(raw: string, what: string): string {
  const decoded = tryDecodePathSegment(raw);
  if (decoded === undefined) {
    throw badRequest(`Invalid ${what} in the path: not valid percent-encoded UTF-8`, [
      { path: what, message: "not valid percent-encoded UTF-8" },
    ]);
  }
  return decoded;
}

const hex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The segment decoded, or undefined when it cannot be (also for look-ahead hints that decide nothing). */
export function tryDecodePathSegment(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!raw.includes("%")) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length;) {
    if (raw.charCodeAt(i) === 0x25 && hex(raw.charCodeAt(i + 1)) && hex(raw.charCodeAt(i + 2))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 3;
      continue;
    }
    // Node reads a request line as Latin-1 (one character a byte); it refuses bytes above 0x7F anyway.
    bytes.push(raw.charCodeAt(i) & 0xff);
    i += 1;
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/** A path with a dot segment or a backslash: no route other than an item key takes one. */
export const hasUnresolvedSegments = (path: string): boolean =>
  path.includes("\\") || path.split("/").some((s) => /^(?:\.|%2e){1,2}$/i.test(s));

import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { invalidParameter } from "../errors.js";
import type { WriteCondition } from "../services/item-operations.js";

// Conditional requests on one item (SPEC §9.1). An item's ETag is its version as a strong entity tag,
// `"42"`. Writes are strict: If-Match is one strong tag or `*`, If-None-Match only `*`; anything else is a
// 400 naming the header (a weak tag or a list on a write is more likely a mistake than a wish). A GET's
// If-None-Match is read as RFC 9110 says (a list, weak comparison), since caches send what they kept.

/** A version as a strong entity tag: what an ETag answer carries. */
export const etagOf = (version: string | number) => `"${version}"`;

/** A strong entity tag holding a version: a positive integer (a PostgreSQL bigint). */
const VERSION_TAG = /^"([1-9][0-9]{0,18})"$/;
const MAX_VERSION = 9_223_372_036_854_775_807n;

/** The condition of a PUT (If-Match or If-None-Match: *), or undefined when it has none; 400 naming a bad header. */
export function putCondition(headers: IncomingHttpHeaders): WriteCondition | undefined {
  const match = headers["if-match"];
  const noneMatch = headers["if-none-match"];
  if (match !== undefined && noneMatch !== undefined)
    throw invalidParameter("If-None-Match", "cannot be combined with If-Match");
  if (match !== undefined) return ifMatch(match);
  if (noneMatch === undefined) return undefined;
  if (noneMatch.trim() === "*") return { ifAbsent: true };
  throw invalidParameter(
    "If-None-Match",
    "on a write only * is accepted (written only if the key does not exist); to write at a version, use If-Match",
  );
}

/** The condition of a DELETE (If-Match), or undefined when it has none; 400 naming a bad header. */
export function deleteCondition(
  headers: IncomingHttpHeaders,
): { ifVersion: string } | { ifExists: true } | undefined {
  if (headers["if-none-match"] !== undefined)
    throw invalidParameter("If-None-Match", "a DELETE honours If-Match only");
  const match = headers["if-match"];
  return match === undefined ? undefined : ifMatch(match);
}

function ifMatch(header: string): { ifVersion: string } | { ifExists: true } {
  const text = header.trim();
  if (text === "*") return { ifExists: true };
  const m = VERSION_TAG.exec(text);
  if (!m || BigInt(m[1]!) > MAX_VERSION) {
    throw invalidParameter(
      "If-Match",
      'must be one strong entity tag holding a version, as an ETag gives it (e.g. "42"), or *; weak tags (W/"…") and lists are not accepted',
    );
  }
  return { ifVersion: m[1]! };
}

/** One entity tag of a list, its opaque part captured (RFC 9110 §8.8.3: etagc is %x21 / %x23-7E / obs-text). */
const LISTED_TAG = /[ \t]*(?:W\/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*/y;

/** A GET's If-None-Match: `*`, or the opaque parts of its entity tags (weak or strong alike). */
export type NoneMatch = "*" | ReadonlySet<string>;

/** A GET's If-None-Match header read (RFC 9110 §13.1.2), undefined when there is none; 400 naming it when malformed. */
export function parseNoneMatch(header: string | undefined): NoneMatch | undefined {
  if (header === undefined) return undefined;
  if (header.trim() === "*") return "*";
  const tags = new Set<string>();
  let at = 0;
  for (;;) {
    LISTED_TAG.lastIndex = at;
    const m = LISTED_TAG.exec(header);
    if (!m) break;
    tags.add(m[1]!);
    at = LISTED_TAG.lastIndex;
    if (at === header.length) return tags;
    if (header[at] !== ",") break;
    at++;
  }
  throw invalidParameter(
    "If-None-Match",
    'must be * or a comma-separated list of entity tags, each in double quotes (e.g. "42")',
  );
}

/** Whether the item at `version` is one the client has (then a GET answers 304): `*` or one of its tags is the version's. */
export const noneMatchFails = (wanted: NoneMatch | undefined, version: string): boolean =>
  wanted !== undefined && (wanted === "*" || wanted.has(version));

/** 304 Not Modified: the ETag (and caching rule) the 200 would have had, no body. */
export function answerNotModified(res: ServerResponse, version: string): void {
  res.writeHead(304, { etag: etagOf(version), "cache-control": "no-store" });
  res.end();
}

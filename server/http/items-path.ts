import { collectionNameSchema } from "../../contracts/common.js";
import { badRequest } from "../errors.js";

/**
 * `/collections/{name}` or `/collections/{name}/{key}`: everything after the name's slash is the key
 * (so a key may contain `/`), percent-decoded as a whole. Null for other paths (GET /collections).
 */
export function matchItemsPath(pathname: string): { rawName: string; rawKey: string | undefined } | null {
  const m = /^\/collections\/([^/]+)(?:\/(.*))?$/s.exec(pathname);
  if (!m) return null;
  return { rawName: m[1]!, rawKey: m[2] };
}

function decodeSegment(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw badRequest(`Invalid ${what} in the path: not valid percent-encoded UTF-8`, [{ path: what, message: "not valid percent-encoded UTF-8" }]);
  }
}

/** The decoded collection name (400 when it cannot be a collection name) and key pattern. */
export function decodeItemsPath(match: { rawName: string; rawKey: string | undefined }): { name: string; key: string | undefined } {
  const name = decodeSegment(match.rawName, "name");
  const r = collectionNameSchema.safeParse(name);
  if (!r.success) {
    const message = r.error.issues.map((i) => i.message).join("; ");
    throw badRequest(`Invalid collection name "${name}": ${message}`, [{ path: "name", message }]);
  }
  return { name, key: match.rawKey === undefined ? undefined : decodeSegment(match.rawKey, "key") };
}

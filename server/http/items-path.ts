import { collectionNameSchema } from "../../contracts/common.js";
import { badRequest } from "../errors.js";
import { decodePathSegment } from "./request-target.js";

/**
 * `/collections/{name}` or `/collections/{name}/{key}` of a raw path: everything after the name's slash is
 * the key (so a key may contain `/`, `\`, `.` and `..`), decoded once (SPEC §3.6). Null for other paths.
 */
export function matchItemsPath(path: string): { rawName: string; rawKey: string | undefined } | null {
  const m = /^\/collections\/([^/]+)(?:\/(.*))?$/s.exec(path);
  if (!m) return null;
  return { rawName: m[1]!, rawKey: m[2] };
}

/** The decoded collection name (400 when it cannot be a collection name) and key pattern. */
export function decodeItemsPath(match: { rawName: string; rawKey: string | undefined }): {
  name: string;
  key: string | undefined;
} {
  const name = decodePathSegment(match.rawName, "name");
  const r = collectionNameSchema.safeParse(name);
  if (!r.success) {
    const message = r.error.issues.map((i) => i.message).join("; ");
    throw badRequest(`Invalid collection name "${name}": ${message}`, [{ path: "name", message }]);
  }
  return { name, key: match.rawKey === undefined ? undefined : decodePathSegment(match.rawKey, "key") };
}

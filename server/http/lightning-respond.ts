import type { ServerResponse } from "node:http";
import type { LightningErrorBody } from "../../contracts/lightning/shared.js";
import { collectionNameSchema } from "../../contracts/common.js";
import type { ErrorCode } from "../../contracts/common.js";
import { AppError, badRequest, notFound, toAppError } from "../errors.js";
import { errorFields, type Logger } from "../log.js";
import { retryHeaders, sendJson } from "./respond.js";

// Lightning's error bodies (SPEC §5): fixed words for the statuses its clients know, the message otherwise.

const fixedWords: Partial<Record<ErrorCode, string>> = {
  BAD_REQUEST: "Bad Request",
  UNAUTHORIZED: "Unauthorized",
  FORBIDDEN: "Forbidden",
  NOT_FOUND: "Not Found",
  INTERNAL_SERVER_ERROR: "Internal Server Error",
  SERVICE_UNAVAILABLE: "Service Unavailable",
};

export function sendLightningError(res: ServerResponse, e: unknown, log: Logger): void {
  const app = toAppError(e);
  if (!(e instanceof AppError)) log.error("lightning request failed", { code: app.code, ...errorFields(e) });
  // The fixed words hide the detail from the client; the log keeps it.
  else log.debug("lightning request rejected", { code: app.code, message: app.message });
  if (res.headersSent) {
    res.destroy(new Error(app.message));
    return;
  }
  const body: LightningErrorBody = { error: fixedWords[app.code] ?? app.message };
  sendJson(res, app.status, body, retryHeaders(app.code, res));
}

export const LIGHTNING_PREFIX = "/lightning/collections";

/** `/lightning/collections/{name}[/{key}]` with both segments percent-decoded (the key may contain `/`); null for other paths. */
export function parseLightningPath(pathname: string): { name: string; key: string | undefined } | null {
  const m = /^\/lightning\/collections\/([^/]+)(?:\/(.+))?$/s.exec(pathname);
  if (!m) return null;
  const name = decode(m[1]!);
  // A name that cannot exist is a missing collection to Lightning's clients.
  if (!collectionNameSchema.safeParse(name).success) throw notFound(`Collection '${name}' not found`);
  return { name, key: m[2] === undefined ? undefined : decode(m[2]) };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest("A path segment is not valid percent-encoded UTF-8");
  }
}

import type { ServerResponse } from "node:http";
import type { LightningErrorBody } from "../../contracts/lightning/shared.js";
import { collectionNameSchema } from "../../contracts/common.js";
import type { ErrorCode } from "../../contracts/common.js";
import { AppError, notFound, toAppError } from "../errors.js";
import { errorFields, type Logger } from "../log.js";
import { decodePathSegment } from "./request-target.js";
import { abortedAfterStart, retryHeaders, sendJson } from "./respond.js";

// Lightning's error bodies (SPEC §5): fixed words for the statuses its clients know, the message otherwise.

const fixedWords: Partial<Record<ErrorCode, string>> = {
  BAD_REQUEST: "Bad Request",
  UNAUTHORIZED: "Unauthorized",
  FORBIDDEN: "Forbidden",
  NOT_FOUND: "Not Found",
  METHOD_NOT_SUPPORTED: "Method Not Allowed",
  INTERNAL_SERVER_ERROR: "Internal Server Error",
  SERVICE_UNAVAILABLE: "Service Unavailable",
};

export function sendLightningError(res: ServerResponse, e: unknown, log: Logger): void {
  const app = toAppError(e);
  if (abortedAfterStart(res, app, e, log)) return;
  if (!(e instanceof AppError)) log.error("lightning request failed", { code: app.code, ...errorFields(e) });
  // The fixed words hide the detail from the client; the log keeps it.
  else log.debug("lightning request rejected", { code: app.code, message: app.message });
  const body: LightningErrorBody = { error: fixedWords[app.code] ?? app.message };
  sendJson(res, app.status, body, retryHeaders(app.code, res));
}

export const LIGHTNING_PREFIX = "/lightning/collections";

/** `/lightning/collections/{name}[/{key}]` of a raw path, each part decoded once (SPEC §3.6; the key may contain `/`); null for other paths. */
export function parseLightningPath(path: string): { name: string; key: string | undefined } | null {
  const m = /^\/lightning\/collections\/([^/]+)(?:\/(.+))?$/s.exec(path);
  if (!m) return null;
  const name = decodePathSegment(m[1]!, "name");
  // A name that cannot exist is a missing collection to Lightning's clients.
  if (!collectionNameSchema.safeParse(name).success) throw notFound(`Collection '${name}' not found`);
  return { name, key: m[2] === undefined ? undefined : decodePathSegment(m[2], "key") };
}

import type { ServerResponse } from "node:http";
import { AppError, toAppError } from "../errors.js";
import { errorFields, type Logger } from "../log.js";

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  // An answer given before the request body was read (413, or any early error) closes the connection
  // rather than reading and discarding the rest of the body.
  const unreadBody = res.req !== undefined && !res.req.complete;
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...(unreadBody ? { connection: "close" } : {}),
    ...headers,
  });
  res.end(text);
}

/** Retry-After of an error answer: the database may be back in a second; a stream slot may free up. */
export function retryHeaders(code: string, res: ServerResponse): Record<string, string> {
  if (res.hasHeader("retry-after")) return {};
  return code === "SERVICE_UNAVAILABLE" || code === "TOO_MANY_REQUESTS" ? { "retry-after": "1" } : {};
}

/**
 * The one error answer of the REST surfaces handled outside tRPC (raw stream routes, unknown paths,
 * body reading). If the status line is already out, the response is aborted instead (SPEC §3.1).
 */
export function sendError(res: ServerResponse, e: unknown, log: Logger): void {
  const app = toAppError(e);
  if (abortedAfterStart(res, app, e, log)) return;
  if (!(e instanceof AppError)) log.error("request failed", { code: app.code, ...errorFields(e) });
  sendJson(res, app.status, app.toBody(), retryHeaders(app.code, res));
}

/**
 * A failure once the status line is out cannot become an error answer: the transfer is aborted, so that
 * the client sees it broken rather than a valid end (SPEC §3.1), and logged. True when that was the case.
 */
export function abortedAfterStart(res: ServerResponse, app: AppError, e: unknown, log: Logger): boolean {
  if (!res.headersSent) return false;
  log.error("the response had started when it failed; aborting it", { code: app.code, ...errorFields(e) });
  res.destroy(new Error(app.message));
  return true;
}

import type { ServerResponse } from "node:http";
import { AppError, toAppError } from "../errors.js";
import { errorFields, type Logger } from "../log.js";

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * The one error answer of the REST surfaces handled outside tRPC (raw stream routes, unknown paths,
 * body reading). If the status line is already out, the response is aborted instead (SPEC §3.1).
 */
export function sendError(res: ServerResponse, e: unknown, log: Logger): void {
  const app = toAppError(e);
  if (!(e instanceof AppError)) log.error("request failed", { code: app.code, ...errorFields(e) });
  if (res.headersSent) {
    res.destroy(new Error(app.message));
    return;
  }
  sendJson(res, app.status, app.toBody(), app.code === "SERVICE_UNAVAILABLE" ? { "retry-after": "1" } : {});
}

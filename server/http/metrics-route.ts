import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Services } from "../context.js";
import { unauthorized } from "../errors.js";
import { openStreamCount } from "./stream-slots.js";

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Whether the Authorization header is `Bearer <token>`, compared in constant time. */
function bearerIs(authorization: string | undefined, token: string): boolean {
  const m = /^bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

/** GET /metrics in Prometheus' text format; with METRICS_TOKEN set, only for that bearer token (401 otherwise). */
export async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  services: Services,
): Promise<void> {
  const token = services.env.METRICS_TOKEN;
  if (token !== undefined && !bearerIs(req.headers.authorization, token)) {
    throw unauthorized("GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`");
  }
  const { metrics, db } = services;
  const text = await metrics.render({
    openStreams: () => openStreamCount(services),
    pool: () => db.poolStats(),
    storage: db.kind,
  });
  res.writeHead(200, {
    "content-type": metrics.registry.contentType,
    "cache-control": "no-store",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Services } from "../context.js";
import { createRequestListener } from "./dispatch.js";
import { ServiceResponse } from "./request-scope.js";

// The HTTP server's lifecycle: listen, drain on stop, and the answers Node gives before a request
// reaches the listener (server/http/dispatch.ts).

export interface RunningServer {
  server: Server<typeof IncomingMessage, typeof ServiceResponse>;
  /** e.g. http://127.0.0.1:34567 */
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS), then closes the rest. */
  stop(): Promise<void>;
}

export async function startHttpServer(
  services: Services,
  port: number,
  host: string,
): Promise<RunningServer> {
  const listener = createRequestListener(services);
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const { HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } = services.env;
  const headersTimeout = Math.min(HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
  const server = createServer(
    {
      ServerResponse: ServiceResponse,
      // Node answers 408 (through 'clientError' below) when the headers, or the whole request, are late.
      headersTimeout,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 4))),
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      inFlight++;
      res.once("close", () => {
        inFlight--;
        if (inFlight === 0) drained?.();
      });
      listener(req, res);
    },
  );
  server.on("clientError", (err: NodeJS.ErrnoException, socket) =>
    answerClientError(err, socket, services.env),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let stopping: Promise<void> | undefined;
  return {
    server,
    url: `http://${shownHost === "0.0.0.0" ? "127.0.0.1" : shownHost === "[::]" ? "[::1]" : shownHost}:${address.port}`,
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) {
          await Promise.race([
            new Promise<void>((resolve) => (drained = resolve)),
            new Promise<void>((resolve) => setTimeout(resolve, services.env.SHUTDOWN_TIMEOUT_MS).unref()),
          ]);
        }
        server.closeAllConnections();
        await closed;
      })();
      return stopping;
    },
  };
}

/**
 * Requests Node refuses before our listener sees them: late headers or body (408 with the error body,
 * naming the limits), oversized headers (431), unparsable HTTP (400). The connection then closes.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, env: Services["env"]): void {
  // A response whose status line is out cannot be followed by another; a request of a kept-alive
  // connection after earlier answers (bytes written, none pending), or one whose answer has not started
  // (a stalled body), can still be answered.
  const pending = (
    socket as Duplex & { _httpMessage?: { headersSent?: boolean; writableEnded?: boolean } | null }
  )._httpMessage;
  if (err.code === "ECONNRESET" || !socket.writable || (pending?.headersSent && !pending.writableEnded)) {
    socket.destroy();
    return;
  }
  if (err.code === "HPE_HEADER_OVERFLOW") {
    socket.end("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
    return;
  }
  const [status, reason, body] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [
          408,
          "Request Timeout",
          {
            code: "TIMEOUT",
            message: `The request did not arrive in time: headers are allowed ${env.HEADERS_TIMEOUT_MS} ms (HEADERS_TIMEOUT_MS), the whole request ${env.REQUEST_TIMEOUT_MS} ms (REQUEST_TIMEOUT_MS)`,
          },
        ]
      : [400, "Bad Request", { code: "BAD_REQUEST", message: "Malformed HTTP request" }];
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

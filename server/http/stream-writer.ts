import type { IncomingMessage, ServerResponse } from "node:http";

/** Aborted when the client goes away before the response finished. */
export function clientGone(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new Error("client disconnected"));
  };
  res.once("close", onClose);
  req.once("aborted", onClose);
  return controller.signal;
}

/**
 * Buffers small pieces into writes of about `flushBytes`, waiting for 'drain' when the socket is full
 * (backpressure). Writes nothing once the signal is aborted.
 */
export class JsonStreamWriter {
  private pending: string[] = [];
  private pendingLength = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly signal: AbortSignal,
    private readonly flushBytes = 64 * 1024,
  ) {}

  async push(text: string): Promise<void> {
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= this.flushBytes) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0 || this.signal.aborted) return;
    const chunk = this.pending.join("");
    this.pending = [];
    this.pendingLength = 0;
    if (this.res.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off("drain", done);
        this.signal.removeEventListener("abort", done);
        resolve();
      };
      this.res.on("drain", done);
      this.signal.addEventListener("abort", done);
    });
  }

  async end(text: string): Promise<void> {
    await this.push(text);
    await this.flush();
    if (!this.signal.aborted) this.res.end();
  }
}

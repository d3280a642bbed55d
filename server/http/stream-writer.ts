import type { IncomingMessage, ServerResponse } from "node:http";
import { setImmediate as yieldToIo } from "node:timers/promises";

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

const HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

/** A HEAD of a streamed read: the status and headers its GET starts with, and no body (nothing is read). */
export function answerStreamHead(res: ServerResponse): void {
  res.writeHead(200, HEADERS);
  res.end();
}

/** A 200 JSON answer complete in hand: one write, with its length (what a stream complete after its first batch sends). */
export function answerJson(res: ServerResponse, body: string): void {
  res.writeHead(200, { ...HEADERS, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/**
 * A 200 JSON answer written as it is produced: small pieces are buffered into writes of about
 * `flushBytes`, waiting for 'drain' when the socket is full (backpressure); nothing is written once the
 * signal is aborted.
 *
 * The status line waits for the first batch to be sent: an answer that is complete by then (most
 * answers: one item, one page) goes out as one write with a Content-Length, and an error before it
 * still gets a proper error answer (res.headersSent stays false until then). With `tailApart`, the text
 * given to end() is always a write of its own, after the rest.
 */
export class JsonStreamWriter {
  private pending: (string | Buffer)[] = [];
  private pendingLength = 0;
  /** flush() was called before anything was sent: send at the next turn of the event loop or the next push. */
  private firstFlushDue = false;
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly signal: AbortSignal,
    private readonly options: {
      flushBytes?: number;
      tailApart?: boolean;
      headers?: Record<string, string>;
    } = {},
  ) {}

  private get headers(): Record<string, string> {
    return this.options.headers ?? HEADERS;
  }

  private get flushBytes(): number {
    return this.options.flushBytes ?? 64 * 1024;
  }

  /**
   * Adds text to the answer; a promise only when it had to write (to be awaited: backpressure). Most
   * pieces are only buffered, without the cost of an async call per piece (a stream pushes several per row).
   */
  push(text: string | Buffer): Promise<void> | undefined {
    if (this.firstFlushDue || (text.length >= this.flushBytes && this.res.headersSent))
      return this.pushApart(text);
    this.pending.push(text);
    this.pendingLength += text.length;
    return this.pendingLength >= this.flushBytes ? this.write() : undefined;
  }

  private async pushApart(text: string | Buffer): Promise<void> {
    // More is coming after a batch was flushed: the answer is not complete, send the batch now.
    if (this.firstFlushDue) await this.write();
    if (text.length >= this.flushBytes && this.res.headersSent) {
      // A large piece (a value of up to a megabyte) goes out as it is: joined with what is pending it
      // would be copied once more, and such copies are what a stream's memory is made of (V8 collects
      // the large strings of finished writes lazily).
      await this.write();
      this.pending.push(text);
      this.pendingLength = text.length;
      return this.write();
    }
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= this.flushBytes) await this.write();
  }

  /** Pushes each piece of a row (see JsonStreamParts.row); a promise only when it had to write. */
  pushAll(pieces: string | Buffer | readonly (string | Buffer)[]): Promise<void> | undefined {
    if (typeof pieces === "string" || Buffer.isBuffer(pieces)) return this.push(pieces);
    for (let i = 0; i < pieces.length; i++) {
      const written = this.push(pieces[i]!);
      if (written) return written.then(() => this.pushAll(pieces.slice(i + 1)));
    }
    return undefined;
  }

  /** The end of a batch: what is buffered should reach the client now. */
  async flush(): Promise<void> {
    if (this.res.headersSent) return this.write();
    if (this.firstFlushDue) return;
    this.firstFlushDue = true;
    // Reading the next batch takes I/O (PostgreSQL server): send this one meanwhile. The embedded
    // database may answer without I/O; then the next batch's first push() sends it.
    setImmediate(() => {
      if (this.firstFlushDue && !this.ended) void this.write();
    });
  }

  async end(text: string): Promise<void> {
    this.ended = true;
    if (this.signal.aborted) return;
    if (!this.res.headersSent && !this.options.tailApart) {
      this.pending.push(text);
      const body = joined(this.pending);
      this.pending = [];
      this.res.writeHead(200, { ...this.headers, "content-length": Buffer.byteLength(body) });
      this.res.end(body);
      return;
    }
    if (this.options.tailApart) await this.write();
    if (this.signal.aborted) return;
    this.pending.push(text);
    const chunk = joined(this.pending);
    this.pending = [];
    this.pendingLength = 0;
    if (!this.res.headersSent) this.res.writeHead(200, this.headers);
    this.res.end(chunk); // the last chunk and the chunked encoding's terminator in one write
  }

  private async write(): Promise<void> {
    this.firstFlushDue = false;
    if (this.signal.aborted) return;
    if (!this.res.headersSent) this.res.writeHead(200, this.headers);
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : joined(this.pending);
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
}

/** Pieces as one write: text, or bytes when some piece is bytes (a batch framed from a COPY). */
function joined(pieces: (string | Buffer)[]): string | Buffer {
  if (!pieces.some((p) => Buffer.isBuffer(p))) return pieces.join("");
  return Buffer.concat(pieces.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
}

/** What writeJsonStream writes: `head`, each row's JSON separated by commas, then the tail of how the batches ended. */
export interface JsonStreamParts<T, E> {
  head: string;
  batches: AsyncGenerator<T[], E, void>;
  /** A row's JSON, or its pieces in order (a large value apart, so that it is written without a copy). */
  row(row: T): string | Buffer | readonly (string | Buffer)[];
  /** The closing text, or undefined when the stream was aborted (the client went away). */
  tail(end: E): string | undefined;
  /** The tail in a write of its own (the Lightning list's cursor, see JsonStreamWriter). */
  tailApart?: boolean;
  /** Between two rows; a comma unless said otherwise (an NDJSON export ends each row with a line break instead). */
  separator?: string;
  /** The answer's headers (default: JSON, not cached). */
  headers?: Record<string, string>;
}

/**
 * The one writer of streamed JSON answers (item GET and DELETE, the Lightning list): the first batch is
 * read before the status line, so that an early failure still gets a proper error answer; each batch is
 * then written as it arrives, with backpressure. A failure after the status line is thrown to the
 * caller's error answer, which aborts the transfer (SPEC §3.1).
 */
export async function writeJsonStream<T, E>(
  res: ServerResponse,
  signal: AbortSignal,
  parts: JsonStreamParts<T, E>,
): Promise<void> {
  const { batches } = parts;
  try {
    let next = await batches.next();
    const out = new JsonStreamWriter(res, signal, { tailApart: parts.tailApart, headers: parts.headers });
    const separator = parts.separator ?? ",";
    await out.push(parts.head);
    let first = true;
    while (!next.done) {
      for (const row of next.value) {
        if (!first && separator) {
          const written = out.push(separator);
          if (written) await written;
        }
        const written = out.pushAll(parts.row(row));
        if (written) await written;
        first = false;
      }
      await out.flush();
      // The embedded database answers without I/O: let a disconnect be noticed (once sending has begun,
      // so that an answer complete after its first batch still goes out in one piece).
      if (res.headersSent) await yieldToIo();
      next = await batches.next();
    }
    const tail = parts.tail(next.value);
    if (tail !== undefined) await out.end(tail);
  } catch (e) {
    await batches.return(undefined as never).catch(() => {});
    throw e;
  }
}

/**
 * The batches of a read (never of a write: a DELETE's next batch deletes), each next one asked for as soon
 * as the previous one arrives, so that the database reads batch n+1 while batch n is written to the
 * socket: a stream otherwise waits for each in turn. One batch is read ahead at most (a stream holds two
 * batches' bytes); a client that goes away stops the source at its next batch, as without read-ahead
 * (the source checks the signal), after the one batch being read.
 */
export async function* readAhead<T, E>(source: AsyncGenerator<T[], E, void>): AsyncGenerator<T[], E, void> {
  let next = source.next();
  try {
    for (;;) {
      const step = await next;
      if (step.done) return step.value;
      next = source.next();
      // Awaited at the next step; a failure while this batch is written is not an unhandled rejection.
      next.catch(() => {});
      yield step.value;
    }
  } finally {
    // Stopped early (the consumer failed or returned): the source closes once its batch in hand is read.
    await source.return(undefined as never).catch(() => {});
  }
}

// An EventSource over fetch, for the typed client's subscriptions (httpSubscriptionLink). The standard
// EventSource cannot send an Authorization header, and Node 20 has none. It follows the standard where the
// tRPC link relies on it: `message` and named events with `data` and `lastEventId`, the `Last-Event-ID`
// header on reconnection, `retry:`, comments ignored, and a reconnection after the stream ends or breaks
// (an answer that is not a 200 event stream closes it for good, with an `error` event).

/** What the link passes to the constructor (eventSourceOptions). */
export interface FetchEventSourceInit {
  /** Headers of every (re)connection, e.g. Authorization. */
  headers?: Record<string, string>;
  /** A fetch to use instead of the global one. */
  fetch?: (url: string, init: { headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>;
  withCredentials?: boolean;
}

/** An event of the stream: `data` as sent (lines joined with "\n"), and the id in force. */
export class EventSourceMessage extends Event {
  constructor(
    type: string,
    readonly data: string,
    readonly lastEventId: string,
  ) {
    super(type);
  }
}

export class FetchEventSource extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSED = 2;
  readyState = 0;
  readonly url: string;
  readonly withCredentials: boolean;
  /** The id of the last event dispatched: sent as Last-Event-ID when reconnecting. */
  private lastEventId = "";
  private retryMs = 1000;
  private readonly stop = new AbortController();

  constructor(
    url: string | URL,
    private readonly init: FetchEventSourceInit = {},
  ) {
    super();
    this.url = String(url);
    this.withCredentials = init.withCredentials ?? false;
    void this.run();
  }

  close(): void {
    this.readyState = this.CLOSED;
    this.stop.abort();
  }

  private async run(): Promise<void> {
    const fetchFn = this.init.fetch ?? ((url, init) => fetch(url, init));
    while (this.readyState !== this.CLOSED) {
      try {
        const res = await fetchFn(this.url, {
          headers: {
            accept: "text/event-stream",
            "cache-control": "no-store",
            ...this.init.headers,
            ...(this.lastEventId ? { "last-event-id": this.lastEventId } : {}),
          },
          signal: this.stop.signal,
        });
        const type = res.headers.get("content-type") ?? "";
        if (res.status !== 200 || !/^text\/event-stream/i.test(type) || !res.body) {
          await res.body?.cancel().catch(() => {});
          if (this.readyState === this.CLOSED) return;
          this.readyState = this.CLOSED;
          this.dispatchEvent(new Event("error"));
          return;
        }
        if (this.readyState === this.CLOSED) return;
        this.readyState = this.OPEN;
        this.dispatchEvent(new Event("open"));
        await this.read(res.body);
      } catch {
        // a broken connection: reconnect below
      }
      if (this.readyState === this.CLOSED) return;
      this.readyState = this.CONNECTING;
      this.dispatchEvent(new Event("error"));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.retryMs);
        this.stop.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }

  /** Reads the stream, dispatching each complete event; an event cut by the end of the stream is dropped. */
  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let data: string[] = [];
    let event = "";
    let id = this.lastEventId;
    const lineEnd = /\r\n|\r|\n/g;
    const line = (text: string) => {
      if (text === "") {
        this.lastEventId = id;
        if (data.length > 0 && this.readyState !== this.CLOSED)
          this.dispatchEvent(new EventSourceMessage(event || "message", data.join("\n"), id));
        data = [];
        event = "";
        return;
      }
      if (text.startsWith(":")) return;
      const colon = text.indexOf(":");
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? "" : text.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id" && !value.includes("\0")) id = value;
      else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
    };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const scanned = buffer.length;
        buffer += decoder.decode(value, { stream: true });
        // What was buffered has no line end (but a last CR, maybe): look in what arrived.
        lineEnd.lastIndex = Math.max(0, scanned - 1);
        let at = 0;
        for (let m = lineEnd.exec(buffer); m !== null; m = lineEnd.exec(buffer)) {
          // A CR at the end of what arrived may be the first half of CRLF: wait for the next piece.
          if (m[0] === "\r" && m.index + 1 === buffer.length) break;
          line(buffer.slice(at, m.index));
          at = m.index + m[0].length;
        }
        buffer = buffer.slice(at);
      }
    } finally {
      reader.releaseLock();
    }
  }
}

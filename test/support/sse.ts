// A Server-Sent Events reader for tests of the change feed (SPEC §9.3): the answer of a fetch read message
// by message (a block ended by a blank line), with its fields and comments as sent.

export interface SseMessage {
  event?: string;
  id?: string;
  /** The data lines joined with "\n" (undefined when the message had none). */
  data?: string;
  /** Comment lines (without the leading colon). */
  comments: string[];
}

export interface SseFeed {
  status: number;
  headers: Headers;
  /** The body as text, when the answer is not an event stream (an error body). */
  text?: string;
  /** The next complete message, or null when the stream ended. */
  next(): Promise<SseMessage | null>;
  /** Disconnects (a message being received is dropped). */
  close(): void;
}

/** Opens `url` with `headers` and reads it as an event stream. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseFeed> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { accept: "text/event-stream", ...headers },
    signal: abort.signal,
  });
  const close = () => abort.abort();
  if (!(res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    return {
      status: res.status,
      headers: res.headers,
      text: await res.text(),
      next: async () => null,
      close,
    };
  }
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let ended = false;
  const parse = (block: string): SseMessage => {
    const message: SseMessage = { comments: [] };
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) {
        message.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "event") message.event = value;
      else if (field === "id") message.id = value;
    }
    if (data.length) message.data = data.join("\n");
    return message;
  };
  return {
    status: res.status,
    headers: res.headers,
    async next() {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          return parse(block);
        }
        if (ended) return null;
        try {
          const { value, done } = await reader.read();
          if (done) ended = true;
          else buffer += decoder.decode(value, { stream: true });
        } catch {
          ended = true; // closed by us, or cut
        }
      }
    },
    close,
  };
}

/** A change event of the feed, its data parsed (and kept as text). */
export interface FeedEvent {
  event: "put" | "delete";
  id: string;
  text: string;
  data: { key: string; value?: unknown; version: number; updated?: string; at?: string; expired?: true };
}

/** The next change event (skipping id-only messages and comments), or null when the stream ended. */
export async function nextEvent(feed: SseFeed): Promise<FeedEvent | null> {
  for (;;) {
    const m = await feed.next();
    if (m === null) return null;
    if (m.event === undefined || m.data === undefined) continue;
    return {
      event: m.event as FeedEvent["event"],
      id: m.id!,
      text: m.data,
      data: JSON.parse(m.data) as FeedEvent["data"],
    };
  }
}

/** The next `n` change events (fails when the stream ends before). */
export async function takeEvents(feed: SseFeed, n: number): Promise<FeedEvent[]> {
  const out: FeedEvent[] = [];
  while (out.length < n) {
    const e = await nextEvent(feed);
    if (e === null) throw new Error(`the feed ended after ${out.length} of ${n} events`);
    out.push(e);
  }
  return out;
}

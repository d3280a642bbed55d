import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { setImmediate as yieldToIo } from "node:timers/promises";
import * as changesContract from "../../contracts/items/changes.js";
import type { Env } from "../env.js";
import { invalidParameter } from "../errors.js";
import {
  changeJsonPieces,
  followChangeFeed,
  openChangeFeed,
  pause,
  type ChangeFeed,
} from "../services/change-feed.js";
import type { ChangeRow } from "../services/changes.js";
import { parseParams } from "./params.js";
import { openItemRequest } from "./raw-request.js";
import type { RawHandler } from "./raw-routes.js";
import { holdStreamSlot } from "./stream-slots.js";
import { clientGone, JsonStreamWriter, writeJsonStream } from "./stream-writer.js";

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  // Proxies that buffer answers (nginx) pass this one through as it is written.
  "x-accel-buffering": "no",
};
const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

/**
 * True once this server stopped accepting connections (server.close(): a graceful stop has begun). Open
 * feeds then end, so that the stop does not wait for them; their clients resume on another instance.
 */
export function serverClosing(req: IncomingMessage | undefined): boolean {
  const server = (req?.socket as (Socket & { server?: { listening?: boolean } }) | undefined)?.server;
  return server?.listening === false;
}

/**
 * GET /collections/{name}/changes (SPEC §9.3): the collection's changes as Server-Sent Events, or with
 * format=json one long-poll answer. Everything is checked (caller, collection, parameters, cursor,
 * retention) before the first byte, so that a refusal is the one error body. HEAD checks the same and
 * sends nothing more.
 */
export const changesFeed: RawHandler = async (req, res, raw) => {
  const { principal, caller, query, name } = await openItemRequest(raw);
  const { env } = raw.services;
  const params = parseParams(changesContract.query, query);
  if (params.wait !== undefined && params.wait > env.CHANGES_MAX_WAIT_SECONDS)
    throw invalidParameter(
      "wait",
      `must be at most ${env.CHANGES_MAX_WAIT_SECONDS} (CHANGES_MAX_WAIT_SECONDS)`,
    );
  if (params.limit !== undefined && env.MAX_RESULT_LIMIT !== undefined && params.limit > env.MAX_RESULT_LIMIT)
    throw invalidParameter("limit", `must be at most ${env.MAX_RESULT_LIMIT} (MAX_RESULT_LIMIT)`);
  // An empty Last-Event-ID is none (an EventSource whose last event had no id); several are refused.
  const header = req.headers["last-event-id"];
  const resumeAt = Array.isArray(header) ? header.join(", ") : header;
  const lastEventId = resumeAt ? { cursor: resumeAt, param: "Last-Event-ID" } : undefined;
  if (!raw.scope.head) holdStreamSlot(raw.services, principal, res);
  const feed = await openChangeFeed(caller, {
    name,
    project_id: params.project_id,
    key: params.key,
    since: params.since,
    lastEventId,
  });
  const json = params.format === "json";
  if (raw.scope.head) {
    await feed.read({ rows: 1, bytes: 1 }); // a cursor past retention is 410 here too
    res.writeHead(200, json ? JSON_HEADERS : SSE_HEADERS);
    res.end();
    return;
  }
  const signal = clientGone(req, res);
  if (json) return longPoll(req, res, signal, feed, env, params);
  // Credentials are read again while the stream stays open: a revoked or expired token (or a disabled
  // user) ends it within CHANGES_HEARTBEAT_MS, and the client's reconnection is then refused (401).
  const stillValid = () =>
    raw.services.auth.authenticate(req.headers.authorization).then(
      () => true,
      () => false,
    );
  return eventStream(req, res, signal, feed, env, stillValid);
};

/** A change as an SSE event: `id`, `event: put|delete`, its JSON as `data` (a line per line of the value). */
function sseEvent(change: ChangeRow, id: string): string[] {
  const pieces = changeJsonPieces(change);
  pieces[0] = `id: ${id}\nevent: ${change.kind === "put" ? "put" : "delete"}\ndata: ${pieces[0]}`;
  // A stored value is minified, but one written otherwise could have line breaks outside its strings: a
  // `data:` line each, which the client joins with "\n".
  if (pieces.length === 3 && /[\r\n]/.test(pieces[1]!))
    pieces[1] = pieces[1]!.replace(/\r\n|\r|\n/g, "\ndata: ");
  pieces[pieces.length - 1] += "\n\n";
  return pieces;
}

/**
 * The event stream: an id-only message with the start position first (an EventSource that reconnects
 * before any event resumes there, not at a later "now"), then an event per change as the feed reads
 * them, with backpressure, and a `: keep-alive` comment when nothing was sent for CHANGES_HEARTBEAT_MS.
 */
async function eventStream(
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
  feed: ChangeFeed,
  env: Env,
  stillValid: () => Promise<boolean>,
): Promise<void> {
  const first = await feed.read(); // a cursor past retention is 410 here, before the first byte
  res.writeHead(200, SSE_HEADERS);
  const out = new JsonStreamWriter(res, signal, { headers: SSE_HEADERS });
  await out.push(`id: ${feed.startCursor}\n\n`);
  await out.flush();
  let sent = Date.now();
  let checked = Date.now();
  const batches = followChangeFeed(feed, first, {
    pollMs: env.CHANGES_POLL_MS,
    signal,
    stopping: () => serverClosing(req),
  });
  try {
    let next = await batches.next();
    while (!next.done) {
      if (next.value.length > 0) {
        for (const change of next.value) await out.pushAll(sseEvent(change, feed.cursorOf(change)));
        await out.flush();
        sent = Date.now();
        await yieldToIo(); // the embedded database answers without I/O: let a disconnect be noticed
      } else if (Date.now() - sent >= env.CHANGES_HEARTBEAT_MS) {
        await out.push(": keep-alive\n\n");
        await out.flush();
        sent = Date.now();
      }
      if (Date.now() - checked >= env.CHANGES_HEARTBEAT_MS) {
        if (!(await stillValid())) break;
        checked = Date.now();
      }
      next = await batches.next();
    }
  } finally {
    await batches.return("aborted");
  }
  // The client goes on from its last event id (EventSource reconnects by itself): here after a stop, and
  // elsewhere after 404/410 once the collection is gone or the position expired.
  if (!signal.aborted) res.end();
}

/**
 * format=json: the changes after the start, up to `limit` and PAGE_MAX_BYTES of values, streamed as they
 * are read; when there are none, the answer waits up to `wait` seconds for one. `cursor` continues after
 * the last change looked at.
 */
async function longPoll(
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
  feed: ChangeFeed,
  env: Env,
  params: changesContract.ChangesParams,
): Promise<void> {
  const limit = params.limit ?? env.PAGE_DEFAULT_LIMIT;
  const deadline = Date.now() + (params.wait ?? 0) * 1000;
  async function* batches(): AsyncGenerator<ChangeRow[], void, void> {
    let count = 0;
    let bytes = 0;
    for (;;) {
      const batch = await feed.read({
        rows: Math.min(env.STREAM_BATCH_SIZE, limit - count),
        bytes: Math.max(1, Math.min(env.STREAM_BATCH_BYTES, env.PAGE_MAX_BYTES - bytes)),
      });
      if (batch.changes.length > 0) {
        count += batch.changes.length;
        for (const change of batch.changes) bytes += change.value?.length ?? 0;
        yield batch.changes;
      }
      if (count >= limit || bytes >= env.PAGE_MAX_BYTES || batch.gone) return;
      if (batch.more) continue;
      const left = deadline - Date.now();
      if (count > 0 || left <= 0 || signal.aborted || serverClosing(req)) return;
      await pause(Math.min(env.CHANGES_POLL_MS, left), signal);
    }
  }
  await writeJsonStream(res, signal, {
    head: '{"changes":[',
    batches: batches(),
    row: (change) => changeJsonPieces(change, feed.cursorOf(change)),
    tail: () => (signal.aborted ? undefined : `],"cursor":"${feed.cursor()}"}`),
    headers: JSON_HEADERS,
  });
}

import { tracked, TRPCError, type TrackedEnvelope } from "@trpc/server";
import type { ChangeMessage, ChangesInput } from "../../contracts/items/changes.js";
import type { Context } from "../context.js";
import { AppError, changesExpired, notFound, toAppError } from "../errors.js";
import { serverClosing } from "../http/items-changes.js";
import { acquireStreamSlot } from "../http/stream-slots.js";
import { followChangeFeed, openChangeFeed, type ChangeFeed } from "../services/change-feed.js";
import type { ChangeBatch, ChangeRow } from "../services/changes.js";
import type { ItemCaller } from "../services/item-operations.js";
import { trpcCodeOf } from "../trpc.js";

// The tRPC subscription items.changes (SPEC §9.3): the feed of GET /collections/{name}/changes over tRPC's
// SSE, each message tracked() with its cursor, so that httpSubscriptionLink resumes after the last one it
// received (it sends it as `lastEventId`).

export type TrackedChange = TrackedEnvelope<ChangeMessage>;

function messageOf(change: ChangeRow): ChangeMessage {
  const version = Number(change.version);
  if (change.kind === "put")
    return { kind: "put", key: change.key, value: JSON.parse(change.value!), version, updated: change.at };
  return change.kind === "expire"
    ? { kind: "delete", key: change.key, version, at: change.at, expired: true }
    : { kind: "delete", key: change.key, version, at: change.at };
}

/** An error inside the subscription as tRPC sends it: the application's code, the tRPC code of its status. */
function asTrpcError(e: unknown, ctx: Context): TRPCError {
  const app = toAppError(e);
  if (app.code === "INTERNAL_SERVER_ERROR")
    ctx.log.error("subscription failed", { path: "items.changes", error: String(e) });
  return new TRPCError({ code: trpcCodeOf(app.code), message: app.message, cause: app });
}

/**
 * Opens the feed (collection, permission, cursor and retention are checked here, so that a refusal is the
 * call's error) and returns its messages: `ready` with the start position, then one per change. It ends
 * with an error: SERVICE_UNAVAILABLE when this server stops (the client reconnects and resumes),
 * NOT_FOUND when the collection is deleted, CHANGES_EXPIRED when the position falls below retention.
 */
export async function changesSubscription(
  ctx: Context,
  caller: ItemCaller,
  input: ChangesInput,
  signal: AbortSignal | undefined,
): Promise<AsyncGenerator<TrackedChange, void, void>> {
  const stop = signal ?? new AbortController().signal;
  const release = acquireStreamSlot(ctx.services, caller.principal);
  stop.addEventListener("abort", release, { once: true });
  try {
    const feed = await openChangeFeed(caller, {
      name: input.name,
      project_id: input.project_id,
      key: input.key,
      since: input.since,
      lastEventId: input.lastEventId ? { cursor: input.lastEventId, param: "lastEventId" } : undefined,
    });
    const first = await feed.read();
    return messages(ctx, feed, first, stop, release, input.lastEventId ? "lastEventId" : "since");
  } catch (e) {
    release();
    throw e;
  }
}

async function* messages(
  ctx: Context,
  feed: ChangeFeed,
  first: ChangeBatch,
  signal: AbortSignal,
  release: () => void,
  param: string,
): AsyncGenerator<TrackedChange, void, void> {
  const batches = followChangeFeed(feed, first, {
    pollMs: ctx.services.env.CHANGES_POLL_MS,
    signal,
    stopping: () => serverClosing(ctx.req),
  });
  try {
    yield tracked(feed.startCursor, { kind: "ready" });
    let next = await batches.next();
    while (!next.done) {
      for (const change of next.value) yield tracked(feed.cursorOf(change), messageOf(change));
      next = await batches.next();
    }
    if (next.value === "stopping")
      throw new AppError("SERVICE_UNAVAILABLE", "The server is stopping; reconnect to resume the feed");
    if (next.value === "gone") throw notFound(`Collection '${feed.collection.name}' not found`);
    if (next.value === "expired") throw changesExpired(param);
  } catch (e) {
    throw asTrpcError(e, ctx);
  } finally {
    await batches.return("aborted");
    release();
  }
}

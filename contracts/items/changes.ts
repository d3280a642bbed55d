import { z } from "zod";
import { decimalParam, timestampSchema } from "../common.js";
import { keyPatternParam, nameParam, projectIdShape } from "./shared.js";

// GET /collections/{name}/changes (SPEC §9.3): served by the raw handler server/http/items-changes.ts
// (Server-Sent Events, or long-poll JSON with format=json), which validates its query with `query`; the
// tRPC subscription items.changes takes `input`.

export const formats = ["sse", "json"] as const;

const descriptions = {
  key: "Only the changes of the keys that match this pattern (SPEC §3.5: `*` matches any run of characters, every other character matches itself); without it, every key",
  since:
    "Start after this cursor (an event's `id`, or a long-poll answer's `cursor`); `0`: every change the feed still holds (CHANGES_RETENTION_HOURS). Without it (and without Last-Event-ID), the feed starts now. A cursor is bound to its collection and key pattern",
  format:
    "`sse` (default): a `text/event-stream` that stays open. `json`: one long-poll answer `{changes, cursor}`",
  limit:
    "format=json: at most this many changes (default 1000; the answer also ends past PAGE_MAX_BYTES of values)",
  wait: "format=json: when nothing is new, wait up to this many seconds (at most CHANGES_MAX_WAIT_SECONDS) for a change before answering; default 0",
};

const cursorParam = z
  .string()
  .min(1, "a cursor cannot be empty")
  .max(200, "a cursor has at most 200 characters")
  .meta({ example: "0" });

/** The long-poll parameters mean nothing to an event stream. */
function pollParamsNeedJson(v: { format?: string; limit?: number; wait?: number }, ctx: z.RefinementCtx) {
  if (v.format === "json") return;
  for (const name of ["limit", "wait"] as const) {
    if (v[name] !== undefined)
      ctx.addIssue({ code: "custom", path: [name], message: `${name} is for format=json only` });
  }
}

export const query = z
  .strictObject({
    key: keyPatternParam.optional().meta({ description: descriptions.key, example: "order-*" }),
    since: cursorParam.optional().meta({ description: descriptions.since }),
    format: z
      .enum(formats, "format must be sse or json")
      .optional()
      .meta({ description: descriptions.format, example: "json" }),
    limit: decimalParam("limit", 1).optional().meta({ description: descriptions.limit, example: 100 }),
    wait: decimalParam("wait", 0).optional().meta({ description: descriptions.wait, example: 30 }),
    ...projectIdShape,
  })
  .superRefine(pollParamsNeedJson);
export type ChangesParams = z.output<typeof query>;

export const pathParams = z.object({ name: nameParam });

/** The Last-Event-ID request header: what an EventSource sends when it reconnects. */
export const headers = z.object({
  "Last-Event-ID": cursorParam.optional().meta({
    description:
      "The `id` of the last event received: the feed resumes just after it (no loss, no duplicate). Takes precedence over `since`, which a reconnecting EventSource sends again",
  }),
});

const version = z.number().int().meta({
  description: "The item's version after this change (SPEC §9.1): grows with every change of the key",
  example: 1042,
});

/** `event: put` data. */
export const putEvent = z
  .object({
    key: z.string(),
    value: z.unknown().meta({ description: "The value written: its stored JSON text, as written" }),
    version,
    updated: timestampSchema,
  })
  .meta({ id: "ChangePut" });

/** `event: delete` data (a deletion, or an expiry: `expired: true`). */
export const deleteEvent = z
  .object({
    key: z.string(),
    version,
    at: timestampSchema.meta({ description: "When the item was deleted (or removed once expired)" }),
    expired: z
      .literal(true)
      .optional()
      .meta({ description: "Present when the item expired (SPEC §9.2) rather than was deleted" }),
  })
  .meta({ id: "ChangeDelete" });

const changeId = z.string().meta({ description: "This change's cursor: its event id" });

/** One change of the long-poll answer. */
export const change = z
  .discriminatedUnion("kind", [
    putEvent.extend({ kind: z.literal("put"), id: changeId }),
    deleteEvent.extend({ kind: z.literal("delete"), id: changeId }),
  ])
  .meta({ id: "Change" });

export const pollOutput = z
  .object({
    changes: z.array(change).meta({ description: "In commit order per key (position order)" }),
    cursor: z.string().meta({
      description:
        "Where the next request continues (`since`): after these changes, or further when nothing else is new",
    }),
  })
  .meta({ id: "ChangePage" });
export type ChangePage = z.infer<typeof pollOutput>;

/** The tRPC subscription's input; `lastEventId` is set by httpSubscriptionLink when it reconnects. */
export const input = z.strictObject({
  name: nameParam,
  key: keyPatternParam.optional().meta({ description: descriptions.key }),
  since: cursorParam.optional().meta({ description: descriptions.since }),
  lastEventId: cursorParam
    .nullish()
    .meta({ description: "The id of the last event received: resume just after it (before `since`)" }),
  ...projectIdShape,
});
export type ChangesInput = z.input<typeof input>;

/**
 * A message of the tRPC subscription items.changes, each with its cursor as tracked() id. `ready` comes first
 * on every (re)connection, with the start position as id.
 */
export type ChangeMessage =
  | { kind: "ready" }
  | { kind: "put"; key: string; value: unknown; version: number; updated: string }
  | { kind: "delete"; key: string; version: number; at: string; expired?: true };

import {
  createTRPCClient,
  httpBatchLink,
  httpBatchStreamLink,
  httpSubscriptionLink,
  isTRPCClientError,
  splitLink,
  type HTTPBatchLinkOptions,
  type TRPCClient,
  type TRPCClientError,
} from "@trpc/client";
import type { AnyTRPCProcedure, inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "./app-router.js";
import { FetchEventSource, type FetchEventSourceInit } from "./event-source.js";

// `collections-service/client` (package.json "exports"): the router's type and a client factory for
// TypeScript callers of the tRPC API (SPEC §4). Runs wherever fetch does (Node ≥ 18, browsers); imports
// nothing of the server at run time.

export type { AppRouter } from "./app-router.js";
export type { ErrorCode, Issue, TrpcErrorData, TrpcErrorShape } from "../contracts/common.js";
export type { StreamEvent } from "../contracts/items/get-items.js";
export type { ChangeMessage } from "../contracts/items/changes.js";
export { FetchEventSource } from "./event-source.js";
export type { Item } from "../contracts/items/shared.js";
export type { UpsertItem } from "../contracts/items/upsert-items.js";

/** Every procedure's input by path: `RouterInputs["items"]["get"]`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Every procedure's output by path: `RouterOutputs["collections"]["list"]`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** What a call of this client throws: `data` (absent when the request never got an answer) has the typed code and issues. */
export type CollectionsClientError = TRPCClientError<AppRouter>;
export type CollectionsClient = TRPCClient<AppRouter>;

/** Narrows a caught value to the client's error type (`err.data?.code`, `err.data?.issues`). */
export function isCollectionsClientError(error: unknown): error is CollectionsClientError {
  return isTRPCClientError<AppRouter>(error);
}

type Fetch = NonNullable<HTTPBatchLinkOptions<AppRouter["_def"]["_config"]["$types"]>["fetch"]>;

export type CollectionsClientOptions = {
  /** The service's base URL, e.g. `https://collections.example.org` (calls go to `<url>/trpc`). */
  url: string | URL;
  /** A fetch to use instead of the global one. */
  fetch?: Fetch;
  /** Headers sent with every request besides Authorization. */
  headers?: Record<string, string>;
} & (
  | {
      /** A user access token or a run token. */
      token: string;
      getToken?: never;
    }
  | {
      /** Called before every request (one per batch), e.g. to refresh a run token. */
      getToken: () => string | Promise<string>;
      token?: never;
    }
);

/** The paths of the queries that answer with an async iterable (read through httpBatchStreamLink). */
type StreamedPath<R = AppProcedures, Prefix extends string = ""> = {
  [K in keyof R & string]: R[K] extends AnyTRPCProcedure
    ? R[K]["_def"]["type"] extends "subscription"
      ? never
      : R[K]["_def"]["$types"]["output"] extends AsyncIterable<unknown>
        ? `${Prefix}${K}`
        : never
    : StreamedPath<R[K], `${Prefix}${K}.`>;
}[keyof R & string];
type AppProcedures = AppRouter["_def"]["record"];

// Every streamed procedure, and only those: the compiler fails here when one is added or removed.
const streamed: Record<StreamedPath, true> = { "items.stream": true };

// Node's default limit on a request head is 16 KiB: a batch of GETs longer than this is split.
const MAX_URL_LENGTH = 8_000;

/**
 * A typed tRPC client of the service: concurrent calls go in one batched request (httpBatchLink),
 * `items.stream` answers an async iterable of batches, read as the server sends them (httpBatchStreamLink),
 * and the subscription `items.changes` (SPEC §9.3) runs over Server-Sent Events (httpSubscriptionLink, with
 * an EventSource over fetch that sends the token), resuming after the last event when it reconnects.
 *
 * @example
 * const client = createCollectionsClient({ url: "http://localhost:3000", token: process.env.TOKEN! });
 * const page = await client.items.get.query({ name: "orders", limit: 100 });
 * for await (const event of await client.items.stream.query({ name: "orders" })) { … }
 * client.items.changes.subscribe({ name: "orders" }, { onData: ({ id, data }) => … });
 */
export function createCollectionsClient(options: CollectionsClientOptions): CollectionsClient {
  const { token, getToken } = options;
  if (typeof token !== "string" && typeof getToken !== "function") {
    throw new TypeError("createCollectionsClient needs a token or a getToken function");
  }
  const url = `${String(options.url).replace(/\/+$/, "")}/trpc`;
  const headers = async () => ({
    ...options.headers,
    authorization: `Bearer ${getToken ? await getToken() : token}`,
  });
  const link = { url, headers, fetch: options.fetch };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url,
          EventSource: FetchEventSource,
          eventSourceOptions: async (): Promise<FetchEventSourceInit> => ({
            headers: await headers(),
            fetch: options.fetch as FetchEventSourceInit["fetch"],
          }),
        }),
        false: splitLink({
          condition: (op) => Object.hasOwn(streamed, op.path),
          true: httpBatchStreamLink({ ...link, maxURLLength: MAX_URL_LENGTH }),
          false: httpBatchLink({ ...link, maxURLLength: MAX_URL_LENGTH }),
        }),
      }),
    ],
  });
}

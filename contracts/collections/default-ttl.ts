import { z } from "zod";

/**
 * The largest default TTL of a collection, in seconds (about 68 years): the column is a 32-bit integer.
 * Items may be given longer TTLs of their own (ttl_seconds, up to about 100 years).
 */
export const MAX_DEFAULT_TTL_SECONDS = 2_147_483_647;

const problem = `default_ttl_seconds must be a whole number of seconds from 1 to ${MAX_DEFAULT_TTL_SECONDS} (about 68 years), or null`;

/**
 * A collection's default TTL (SPEC §9.2): what items written without ttl_seconds / expires_at get, or
 * null. A JSON number only: a union, which trpc-to-openapi leaves alone, where it would make a bare
 * z.number() coerce strings and booleans (PLATFORM.md), on REST and tRPC alike.
 */
export const defaultTtlSeconds = z.union(
  [z.number(problem).int(problem).min(1, problem).max(MAX_DEFAULT_TTL_SECONDS, problem), z.null()],
  {
    error: problem,
  },
);

const described = (nullMeans: string) =>
  `Items written without ttl_seconds or expires_at expire this many seconds after the write (1 to ${MAX_DEFAULT_TTL_SECONDS}); ${nullMeans}`;

export const defaultTtlInput = defaultTtlSeconds.optional().meta({
  description: described("omitted or null: items do not expire unless a write says so"),
  example: 86400,
});

export const defaultTtlUpdate = defaultTtlSeconds.meta({
  description: described(
    "null: none. It applies to writes from now on; items written before keep the expiry they got",
  ),
  example: 3600,
});

export const defaultTtlOutput = z
  .number()
  .int()
  .nullable()
  .meta({ description: "The collection's default TTL in seconds (SPEC §9.2); null when it has none" });

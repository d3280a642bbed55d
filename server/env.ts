import { resolve } from "node:path";
import { z } from "zod";

// The only module that reads process.env. Parsed once at boot; every problem is listed at once.

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), "must be a postgresql:// URL")
  .optional();

const optionalText = z.preprocess((v) => (v === "" ? undefined : v), z.string().optional());

export const asymmetricAlgorithms = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;

export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: z.preprocess((v) => (v === "" ? undefined : v), postgresUrl),
  DATA_DIR: z
    .string()
    .min(1)
    .default("./data")
    .transform((v) => resolve(v)),
  DB_POOL_SIZE: int(1, 10),
  // Fail fast when PostgreSQL is unreachable or stuck (0 turns a timeout off).
  DB_CONNECT_TIMEOUT_MS: int(0, 5_000),
  DB_STATEMENT_TIMEOUT_MS: int(0, 60_000),
  // Off behind a pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.21).
  DB_PREPARED_STATEMENTS: z.stringbool({ error: "must be true or false" }).default(true),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  SHUTDOWN_TIMEOUT_MS: int(0, 10_000),

  MAX_KEY_LENGTH: int(1, 255),
  MAX_VALUE_CHARS: int(1, 1_000_000),
  MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024),
  MAX_ITEMS_PER_REQUEST: int(1, 10_000),
  MAX_PATTERN_LENGTH: int(1, 1024),
  MAX_JSON_DEPTH: int(2, 256),
  MAX_RESULT_LIMIT: z.coerce.number().int().min(1).optional(),
  STREAM_BATCH_SIZE: int(1, 1000),
  // HTTP: time allowed to receive the request headers, and the whole request (body included).
  HEADERS_TIMEOUT_MS: int(100, 60_000),
  REQUEST_TIMEOUT_MS: int(100, 300_000),
  // Streamed answers (item GET, DELETE, Lightning list and delete, items.stream) open at once per token; 0 = unlimited.
  MAX_STREAMS_PER_TOKEN: int(0, 8),
  // Requests per minute per bearer token (a token bucket of that size); 0 = off.
  RATE_LIMIT_PER_MINUTE: int(0, 0),
  DELETE_BATCH_SIZE: int(1, 5000),
  // POST /collections/{name}/import?atomic=true (SPEC §9.4): more lines than this are refused (413).
  IMPORT_ATOMIC_MAX_ITEMS: int(1, 100_000),
  // Bodies of every route other than item writes (tokens, collections, run tokens, Lightning delete): small.
  MAX_SMALL_BODY_BYTES: int(256, 64 * 1024),
  // A stream batch (and so the memory of one stream) holds at most this many value bytes, or one item.
  STREAM_BATCH_BYTES: int(1024, 1024 * 1024),
  // tRPC items.get: the page size without `limit`; a page also ends (with a cursor) past PAGE_MAX_BYTES of values.
  PAGE_DEFAULT_LIMIT: int(1, 1000),
  PAGE_MAX_BYTES: int(1024, 16 * 1024 * 1024),
  // tRPC items.stream: items sent without `limit` before it ends with a cursor.
  STREAM_DEFAULT_LIMIT: int(1, 100_000),
  // The change feed (SPEC §9.3): how often an open feed looks for new changes, how often an idle SSE feed
  // sends its heartbeat comment, and the longest `wait` of its long-poll form (format=json).
  CHANGES_POLL_MS: int(10, 250),
  CHANGES_HEARTBEAT_MS: int(10, 15_000),
  CHANGES_MAX_WAIT_SECONDS: int(0, 60),
  // The change log keeps changes this long; the expiry sweep prunes older ones (a feed cursor below what
  // it pruned is 410).
  CHANGES_RETENTION_HOURS: int(1, 168),
  // The expiry sweep (SPEC §9.2, server/services/sweep.ts): how often it runs (0 = never, on this
  // instance), and the rows per statement of each of its steps.
  EXPIRY_SWEEP_INTERVAL_MS: int(0, 30_000),
  EXPIRY_SWEEP_BATCH: int(1, 1000),
  // `offset` above this is 400 (a cursor pages any depth at the cost of a keyset read).
  MAX_OFFSET: int(0, 10_000),
  // tRPC items.delete lists at most this many deleted keys (then keys_truncated is true); REST streams them all.
  MAX_LISTED_DELETED_KEYS: int(0, 10_000),
  // The largest `max_affected` of a delete (SPEC §9.5): its keys are held until the delete commits.
  MAX_AFFECTED_LIMIT: int(0, 10_000),
  // Failed authentications a minute per client address before 429; 0 = off.
  AUTH_FAILURES_PER_MINUTE: int(0, 0),
  // Buckets the rate limiter keeps (the least recently used goes first).
  RATE_LIMIT_MAX_BUCKETS: int(1, 10_000),
  // GET /collections and collections.list: page size without `limit`, and the largest `limit`.
  COLLECTIONS_DEFAULT_LIMIT: int(1, 100),
  COLLECTIONS_MAX_LIMIT: int(1, 1000),
  // GET /metrics: open without it; with it, only `Authorization: Bearer <METRICS_TOKEN>` is answered.
  METRICS_TOKEN: optionalText,
  // Browser origins allowed to call the API (CORS); unset: none. `*` alone: any origin.
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? "")
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .superRefine((origins, ctx) => {
      if (origins.includes("*") && origins.length > 1)
        ctx.addIssue({ code: "custom", message: "`*` allows every origin: give it alone" });
      for (const o of origins) {
        if (o !== "*" && !/^https?:\/\/[^/?#\s]+$/i.test(o)) {
          ctx.addIssue({
            code: "custom",
            message: `"${o}" is not an origin (scheme://host[:port], no path)`,
          });
        }
      }
    })
    .transform((origins) => origins.map((o) => (o === "*" ? o : o.toLowerCase()))),

  // Tokens (server/auth). Keys are PEM text, inline (a literal "\n" counts as a newline) or in a *_FILE.
  JWT_ISSUER: z.string().min(1).default("collections-service"),
  JWT_AUDIENCE: z.string().min(1).default("collections"),
  JWT_SIGNING_KEY: optionalText,
  JWT_SIGNING_KEY_FILE: optionalText,
  JWT_VERIFY_KEYS: optionalText,
  JWT_VERIFY_KEYS_FILE: optionalText,
  JWT_CLOCK_TOLERANCE_SECONDS: int(0, 5),
  RUN_TOKEN_TTL_SECONDS: int(1, 3600),
  RUN_TOKEN_MAX_TTL_SECONDS: int(1, 86_400),
  EXTERNAL_RUN_TOKEN_ISSUER: optionalText,
  EXTERNAL_RUN_TOKEN_AUDIENCE: optionalText,
  EXTERNAL_RUN_TOKEN_ALGORITHMS: z
    .string()
    .default("RS256,ES256")
    .transform((v) =>
      v
        .split(",")
        .map((a) => a.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(z.enum(asymmetricAlgorithms, "must list asymmetric JWS algorithms (RS*, PS*, ES*, EdDSA)"))
        .min(1),
    ),
  EXTERNAL_RUN_TOKEN_PUBLIC_KEY: optionalText,
  EXTERNAL_RUN_TOKEN_PUBLIC_KEY_FILE: optionalText,
  EXTERNAL_RUN_TOKEN_JWKS_FILE: optionalText,
  EXTERNAL_RUN_TOKEN_JWKS_URL: optionalText.refine(
    (v) =>
      v === undefined ||
      /^https:\/\//.test(v) ||
      /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\//.test(v),
    "must be an https:// URL (http:// only for localhost)",
  ),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`));
  }
  return result.data;
}

let cached: Env | undefined;

/** The process configuration, parsed from process.env on first use. */
export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

import { resolve } from "node:path";
import { z } from "zod";

// The only module that reads process.env. Parsed once at boot; every problem is listed at once.

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), "must be a postgresql:// URL")
  .optional();

export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: z.preprocess((v) => (v === "" ? undefined : v), postgresUrl),
  DATA_DIR: z.string().min(1).default("./data").transform((v) => resolve(v)),
  DB_POOL_SIZE: int(1, 10),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  SHUTDOWN_TIMEOUT_MS: int(0, 10_000),

  MAX_KEY_LENGTH: int(1, 255),
  MAX_VALUE_CHARS: int(1, 1_000_000),
  MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024),
  MAX_ITEMS_PER_REQUEST: int(1, 10_000),
  MAX_PATTERN_LENGTH: int(1, 1024),
  MAX_RESULT_LIMIT: z.coerce.number().int().min(1).optional(),
  STREAM_BATCH_SIZE: int(1, 1000),
  DELETE_BATCH_SIZE: int(1, 5000),
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
    throw new ConfigError(
      result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`),
    );
  }
  return result.data;
}

let cached: Env | undefined;

/** The process configuration, parsed from process.env on first use. */
export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

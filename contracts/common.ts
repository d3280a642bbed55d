import type { TRPC_ERROR_CODE_NUMBER } from "@trpc/server";
import { z } from "zod";
import { filterProblem, type TimeDialect } from "./instants.js";

// Shared entities and the one error model of every REST surface.

/** The closed set of application error codes, each with its HTTP status. */
export const errorStatus = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  /** A known path with another method (SPEC §8.1); the answer's `Allow` lists the path's methods. tRPC's name for it. */
  METHOD_NOT_SUPPORTED: 405,
  TIMEOUT: 408,
  CONFLICT: 409,
  /** A delete with `max_affected=N` that more than N items match (SPEC §9.5): nothing was deleted. */
  TOO_MANY_AFFECTED: 409,
  /** A change feed cursor older than the feed's retention (SPEC §9.3): re-read, follow from now. */
  CHANGES_EXPIRED: 410,
  /** A write's If-Match / If-None-Match (tRPC: if_version / if_absent) did not hold (SPEC §9.1); the body has `current_version`. */
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_CONTENT: 422,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;
export const errorCodes = Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]];

export const issueSchema = z.object({
  path: z
    .string()
    .meta({ description: "The parameter, body field or item the issue is about", example: "limit" }),
  message: z.string(),
});

export const errorBodySchema = z
  .object({
    code: z.enum(errorCodes).meta({ description: "Application error code; fixes the HTTP status" }),
    message: z.string().meta({ description: "What went wrong, naming the parameter or item at fault" }),
    issues: z
      .array(issueSchema)
      .optional()
      .meta({ description: "One entry per invalid input, when there are several" }),
    current_version: z.number().int().nullable().optional().meta({
      description:
        "With PRECONDITION_FAILED (SPEC §9.1): the item's current version, null when it does not exist",
    }),
  })
  .meta({
    id: "Error",
    description: "The error body of every REST route (not of the Lightning dialect, which keeps OpenFn's)",
    example: { code: "NOT_FOUND", message: "Collection 'orders' not found" },
  });
export type ErrorBody = z.infer<typeof errorBodySchema>;
/** The members of an error body besides code, message and issues, that some codes carry. */
export type ErrorDetails = Pick<ErrorBody, "current_version">;
export type Issue = z.infer<typeof issueSchema>;

/** The `data` of a tRPC error (server/trpc.ts): the application code and status, and what was wrong with the input. */
export interface TrpcErrorData {
  code: ErrorCode;
  httpStatus: number;
  /** The procedure that failed, e.g. `items.get`. */
  path?: string;
  /** One entry per invalid input; empty when the error is not about the input. */
  issues: Issue[];
  /** With PRECONDITION_FAILED (SPEC §9.1): the item's current version, null when it does not exist. */
  current_version?: number | null;
}

/** A tRPC error as a client receives it: `TRPCClientError#shape` (`code` is JSON-RPC's number). */
export interface TrpcErrorShape {
  message: string;
  code: TRPC_ERROR_CODE_NUMBER;
  data: TrpcErrorData;
}

export const collectionNamePattern = /^[a-z0-9]+([-_.][a-z0-9]+)*$/;
export const COLLECTION_NAME_MAX_LENGTH = 64;
export const collectionNameSchema = z
  .string()
  .max(COLLECTION_NAME_MAX_LENGTH, `a collection name has at most ${COLLECTION_NAME_MAX_LENGTH} characters`)
  .regex(
    collectionNamePattern,
    "a collection name is lower-case letters and digits, separated by single '-', '_' or '.'",
  )
  .meta({ description: "Collection name", example: "patients-2024" });

export const uuidSchema = z.uuid();
/** A UUID in either case (ids are stored in lower case), for checks that need no Zod issue. */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const projectIdQuery = z.uuid("project_id must be a UUID").optional().meta({
  description:
    "Only look for the collection in this project (needed when the name exists in several of the caller's projects)",
});

export const roleSchema = z.enum(["owner", "admin", "editor", "viewer"]);
export type Role = z.infer<typeof roleSchema>;

export const tokenScopeSchema = z.enum(["read", "write"]);
export type TokenScope = z.infer<typeof tokenScopeSchema>;

/** ISO 8601 UTC with microseconds, as every timestamp leaves the service. */
export const timestampSchema = z.string().meta({
  description: "ISO 8601 UTC timestamp, microsecond precision",
  example: "2024-10-08T12:00:00.123456Z",
});

/**
 * A query parameter of decimal digits only, as a number: no sign, exponent, hex, spaces or empty value
 * (SPEC §3.1). `min` 1 for counts such as limit, 0 for offsets.
 */
export const decimalParam = (name: string, min: 0 | 1) => {
  const what = `${name} must be ${min === 1 ? "a positive" : "a non-negative"} integer in decimal digits`;
  return z
    .string()
    .regex(/^[0-9]+$/, what)
    .transform(Number)
    .pipe(z.number().min(min, what).max(Number.MAX_SAFE_INTEGER, `${name} is too large`));
};

/**
 * A count in the query of a trpc-to-openapi route, typed as a number: a tRPC caller passes a number; REST
 * sends decimal digits (no sign, exponent, hex, spaces or empty value), turned into the number here. A
 * preprocess rather than a bare z.number(), which trpc-to-openapi would switch to loose coercion by mutating
 * it (PLATFORM.md), loosening the tRPC procedure too.
 */
export const queryCount = (name: string, min: 0 | 1) => {
  const what = `${name} must be ${min === 1 ? "a positive" : "a non-negative"} integer in decimal digits`;
  return z.preprocess<unknown, z.ZodNumber, number>(
    (v) => (typeof v !== "string" ? v : /^[0-9]+$/.test(v) ? Number(v) : Number.NaN),
    z.number({ error: what }).int(what).min(min, what).max(Number.MAX_SAFE_INTEGER, `${name} is too large`),
  );
};

/** The same count for tRPC callers, as a number. */
export const countInput = (name: string, min: 0 | 1) =>
  z
    .number()
    .int(`${name} must be an integer`)
    .min(min, `${name} must be ${min === 1 ? "a positive" : "a non-negative"} integer`)
    .max(Number.MAX_SAFE_INTEGER, `${name} is too large`);

const filterDescriptions: Record<TimeDialect, Record<"after" | "before", (field: string) => string>> = {
  rest: {
    after: (field) =>
      `Only items whose ${field} timestamp is at or after the start of this ISO 8601 instant's precision (a date alone is that UTC day; no offset means UTC)`,
    before: (field) =>
      `Only items whose ${field} timestamp is at or before the end of this ISO 8601 instant's precision (\`2024-10-08\` includes all of that UTC day, \`…T12:00:00Z\` all of that second)`,
  },
  lightning: {
    after: (field) =>
      `Only items whose ${field} timestamp is >= this instant (full ISO 8601 date-time with offset)`,
    before: (field) =>
      `Only items whose ${field} timestamp is < this instant (full ISO 8601 date-time with offset)`,
  },
};

/** The four time filters as query parameters (SPEC §3.1 for "rest", §5 for "lightning"). */
export function timeFilterShape(dialect: TimeDialect) {
  const filter = (field: "created" | "updated", side: "after" | "before") =>
    z
      .string()
      .superRefine((v, ctx) => {
        const problem = filterProblem(v, side, dialect);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional()
      .meta({
        description: filterDescriptions[dialect][side](field),
        example: dialect === "rest" && side === "before" ? "2024-10-08" : "2024-10-08T12:00:00Z",
      });
  return {
    created_after: filter("created", "after"),
    created_before: filter("created", "before"),
    updated_after: filter("updated", "after"),
    updated_before: filter("updated", "before"),
  };
}

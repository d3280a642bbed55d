import { z } from "zod";

// Shared entities and the one error model of every REST surface.

/** The closed set of application error codes, each with its HTTP status. */
export const errorStatus = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TIMEOUT: 408,
  CONFLICT: 409,
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
  path: z.string().meta({ description: "The parameter, body field or item the issue is about", example: "limit" }),
  message: z.string(),
});

export const errorBodySchema = z
  .object({
    code: z.enum(errorCodes).meta({ description: "Application error code; fixes the HTTP status" }),
    message: z.string().meta({ description: "What went wrong, naming the parameter or item at fault" }),
    issues: z.array(issueSchema).optional().meta({ description: "One entry per invalid input, when there are several" }),
  })
  .meta({
    id: "Error",
    description: "The error body of every REST route (not of the Lightning dialect, which keeps OpenFn's)",
    example: { code: "NOT_FOUND", message: "Collection 'orders' not found" },
  });
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const collectionNamePattern = /^[a-z0-9]+([-_.][a-z0-9]+)*$/;
export const COLLECTION_NAME_MAX_LENGTH = 64;
export const collectionNameSchema = z
  .string()
  .max(COLLECTION_NAME_MAX_LENGTH, `a collection name has at most ${COLLECTION_NAME_MAX_LENGTH} characters`)
  .regex(collectionNamePattern, "a collection name is lower-case letters and digits, separated by single '-', '_' or '.'")
  .meta({ description: "Collection name", example: "patients-2024" });

export const uuidSchema = z.uuid();
/** A UUID in either case (ids are stored in lower case), for checks that need no Zod issue. */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const projectIdQuery = z
  .uuid("project_id must be a UUID")
  .optional()
  .meta({ description: "Only look for the collection in this project (needed when the name exists in several of the caller's projects)" });

export const roleSchema = z.enum(["owner", "admin", "editor", "viewer"]);
export type Role = z.infer<typeof roleSchema>;

export const tokenScopeSchema = z.enum(["read", "write"]);
export type TokenScope = z.infer<typeof tokenScopeSchema>;

/** ISO 8601 UTC with microseconds, as every timestamp leaves the service. */
export const timestampSchema = z.string().meta({ description: "ISO 8601 UTC timestamp, microsecond precision", example: "2024-10-08T12:00:00.123456Z" });

import { errorStatus, type ErrorBody, type ErrorCode, type ErrorDetails } from "../contracts/common.js";

/** The only error services throw on purpose; converted to the wire in server/trpc.ts and server/http/respond.ts. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: { path: string; message: string }[],
    /** Members of the body besides code, message and issues (PRECONDITION_FAILED: current_version). */
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): number {
    return errorStatus[this.code];
  }

  toBody(): ErrorBody {
    const body: ErrorBody = this.issues?.length
      ? { code: this.code, message: this.message, issues: this.issues }
      : { code: this.code, message: this.message };
    return this.details ? { ...body, ...this.details } : body;
  }
}

export const badRequest = (message: string, issues?: { path: string; message: string }[]) =>
  new AppError("BAD_REQUEST", message, issues);
export const unauthorized = (message = "Missing or invalid credentials") =>
  new AppError("UNAUTHORIZED", message);
export const forbidden = (message: string) => new AppError("FORBIDDEN", message);
export const notFound = (message: string) => new AppError("NOT_FOUND", message);
export const conflict = (message: string) => new AppError("CONFLICT", message);
/** A delete with `max_affected` that more items match (SPEC §9.5): nothing was deleted. */
export const tooManyAffected = (count: number, max: number) =>
  new AppError(
    "TOO_MANY_AFFECTED",
    `${count} items match, more than max_affected (${max}): nothing was deleted`,
  );
/** A change feed cursor (`param`) below what the feed still holds (SPEC §9.3). */
export const changesExpired = (param: string) =>
  new AppError(
    "CHANGES_EXPIRED",
    `The ${param} cursor is older than the changes this collection still keeps (CHANGES_RETENTION_HOURS): ` +
      "re-read the collection, and follow the feed again from now (without since or Last-Event-ID), " +
      "opened before the read",
  );

/** A condition of a write (If-Match, If-None-Match: *, if_version, if_absent) that did not hold (SPEC §9.1): 412. */
export const preconditionFailed = (current: string | null) =>
  new AppError(
    "PRECONDITION_FAILED",
    current === null
      ? "The condition did not hold: the item does not exist"
      : `The condition did not hold: the item's current version is ${current}`,
    undefined,
    { current_version: current === null ? null : Number(current) },
  );

/** Errors of the database driver that mean "the database is not reachable right now". */
export function isDatabaseUnavailable(e: unknown): boolean {
  const seen = new Set<unknown>();
  let cur: unknown = e;
  while (cur && typeof cur === "object" && !seen.has(cur)) {
    seen.add(cur);
    const err = cur as { code?: unknown; message?: unknown; cause?: unknown; name?: unknown };
    const code = typeof err.code === "string" ? err.code : "";
    const msg = typeof err.message === "string" ? err.message : "";
    if (
      [
        "ECONNREFUSED",
        "ECONNRESET",
        "ETIMEDOUT",
        "EPIPE",
        "ENOTFOUND",
        "57P01",
        "57P02",
        "57P03",
        "08000",
        "08003",
        "08006",
        "P1001",
        "P1017",
        "53300",
        "57014",
      ].includes(code)
    )
      return true;
    if (
      /Connection terminated|connection (is )?closed|terminating connection|server closed the connection|Client has encountered a connection error|timeout exceeded when trying to connect|DatabaseNotReachable|ConnectionClosed|SocketTimeout|TooManyConnections|statement timeout|too many clients/i.test(
        msg,
      )
    )
      return true;
    cur = err.cause;
  }
  return false;
}

/** Any thrown value as an AppError: known ones as they are, database outages as 503, the rest as 500. */
export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (isDatabaseUnavailable(e))
    return new AppError("SERVICE_UNAVAILABLE", "The database is not available; try again shortly");
  return new AppError("INTERNAL_SERVER_ERROR", "Internal server error");
}

/** The issue list of a failed Zod parse: one issue per bad field, and one per unknown field. */
export function issuesFromZod(
  issues: readonly {
    code?: string;
    path: readonly PropertyKey[];
    message: string;
    keys?: readonly string[];
  }[],
): { path: string; message: string }[] {
  return issues.flatMap((i) => {
    const at = i.path.map(String).join(".");
    if (i.code === "unrecognized_keys" && i.keys)
      return i.keys.map((k) => ({ path: at ? `${at}.${k}` : k, message: UNKNOWN }));
    return [{ path: at || "(input)", message: i.message }];
  });
}

const UNKNOWN = "unknown parameter";

/** The message of an issue list: `Unknown parameter "foo"; Invalid parameter "limit": …`. */
export function describeIssues(issues: { path: string; message: string }[]): string {
  return issues
    .map((i) =>
      i.message === UNKNOWN ? `Unknown parameter "${i.path}"` : `Invalid parameter "${i.path}": ${i.message}`,
    )
    .join("; ");
}

/** A 400 naming one parameter: `Invalid parameter "limit": …`, with its issue. */
export const invalidParameter = (path: string, message: string): AppError =>
  badRequest(`Invalid parameter "${path}": ${message}`, [{ path, message }]);

/** The one 400 of invalid input, on every surface (raw routes, trpc-to-openapi routes, tRPC). */
export function invalidInput(zodIssues: Parameters<typeof issuesFromZod>[0]): AppError {
  const issues = issuesFromZod(zodIssues);
  return badRequest(describeIssues(issues), issues);
}

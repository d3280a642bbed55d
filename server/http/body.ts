import type { IncomingMessage } from "node:http";
import { AppError } from "../errors.js";
import { JsonTextError, parseJsonBody, type ParsedJsonBody } from "../services/json-text.js";

/** True for application/json and application/*+json, with or without parameters. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

export interface BodyLimits {
  /** Bytes: MAX_BODY_BYTES for item writes, MAX_SMALL_BODY_BYTES for everything else. */
  maxBytes: number;
  /** The setting that names the limit in the 413 message. */
  setting: "MAX_BODY_BYTES" | "MAX_SMALL_BODY_BYTES";
  maxDepth: number;
}

/**
 * Reads a JSON request body, for a caller already authenticated: 415 unless the content type is JSON,
 * 413 as soon as it passes the limit (declared or received, without buffering the rest), 400 for
 * invalid UTF-8, empty or malformed JSON, or JSON nested deeper than MAX_JSON_DEPTH. The answer keeps
 * the exact text of the members (json-text.ts), so that values are stored as they were written.
 */
export async function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<ParsedJsonBody> {
  if (!isJsonContentType(req.headers["content-type"])) {
    throw new AppError(
      "UNSUPPORTED_MEDIA_TYPE",
      req.headers["content-type"]
        ? `Content-Type must be application/json, not '${req.headers["content-type"]}'`
        : "Content-Type must be application/json",
    );
  }
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limits.maxBytes) throw tooLarge(limits);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limits.maxBytes) throw tooLarge(limits);
    chunks.push(chunk);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks, size));
  } catch {
    throw new AppError("BAD_REQUEST", "Request body is not valid UTF-8");
  }
  if (text.trim() === "")
    throw new AppError("BAD_REQUEST", "Request body is empty; a JSON document is required");
  try {
    return parseJsonBody(text, limits.maxDepth);
  } catch (e) {
    if (e instanceof JsonTextError) {
      throw new AppError(
        "BAD_REQUEST",
        e.kind === "depth"
          ? `Request body is nested more than ${limits.maxDepth} levels deep (MAX_JSON_DEPTH)`
          : e.message,
      );
    }
    throw e;
  }
}

/** The body limits of item writes and of everything else. */
export const itemBodyLimits = (env: { MAX_BODY_BYTES: number; MAX_JSON_DEPTH: number }): BodyLimits => ({
  maxBytes: env.MAX_BODY_BYTES,
  setting: "MAX_BODY_BYTES",
  maxDepth: env.MAX_JSON_DEPTH,
});
export const smallBodyLimits = (env: {
  MAX_SMALL_BODY_BYTES: number;
  MAX_JSON_DEPTH: number;
}): BodyLimits => ({
  maxBytes: env.MAX_SMALL_BODY_BYTES,
  setting: "MAX_SMALL_BODY_BYTES",
  maxDepth: env.MAX_JSON_DEPTH,
});

function tooLarge(limits: BodyLimits): AppError {
  return new AppError(
    "PAYLOAD_TOO_LARGE",
    `Request body exceeds the limit of ${limits.maxBytes} bytes (${limits.setting})`,
  );
}

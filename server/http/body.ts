import type { IncomingMessage } from "node:http";
import type { Env } from "../env.js";
import { AppError } from "../errors.js";
import { jsonDepth } from "../services/json-depth.js";

/** True for application/json and application/*+json, with or without parameters. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * Reads a JSON request body: 415 unless the content type is JSON, 413 as soon as it passes `limit`
 * bytes (declared or received, without buffering the rest), 400 for invalid UTF-8, empty or malformed JSON,
 * or JSON nested deeper than MAX_JSON_DEPTH.
 */
export async function readJsonBody(req: IncomingMessage, limits: Pick<Env, "MAX_BODY_BYTES" | "MAX_JSON_DEPTH">): Promise<unknown> {
  const { MAX_BODY_BYTES: limit, MAX_JSON_DEPTH: maxDepth } = limits;
  if (!isJsonContentType(req.headers["content-type"])) {
    throw new AppError(
      "UNSUPPORTED_MEDIA_TYPE",
      req.headers["content-type"]
        ? `Content-Type must be application/json, not '${req.headers["content-type"]}'`
        : "Content-Type must be application/json",
    );
  }
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks, size));
  } catch {
    throw new AppError("BAD_REQUEST", "Request body is not valid UTF-8");
  }
  if (text.trim() === "") throw new AppError("BAD_REQUEST", "Request body is empty; a JSON document is required");
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw new AppError("BAD_REQUEST", `Request body is nested more than ${maxDepth} levels deep (MAX_JSON_DEPTH)`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AppError("BAD_REQUEST", `Request body is not valid JSON: ${(e as Error).message}`);
  }
}

function tooLarge(limit: number): AppError {
  return new AppError("PAYLOAD_TOO_LARGE", `Request body exceeds the limit of ${limit} bytes (MAX_BODY_BYTES)`);
}

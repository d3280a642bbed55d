import { Prisma } from "../../server/generated/prisma/client.js";
import { shieldedText } from "../../server/services/items.js";
import type { TestServer } from "./server.js";

export interface RawAnswer {
  status: number;
  text: string;
  /** The body parsed as JSON, or undefined. */
  body: any;
  headers: Headers;
}

/** A request with exactly these headers and these body bytes (no content type is added). */
export async function rawRequest(
  server: { url: string },
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Uint8Array,
): Promise<RawAnswer> {
  const res = await fetch(server.url + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text, body: parsed, headers: res.headers };
}

/** Every item of a collection as stored (key, value text, updated), in insertion order. */
export async function storedItems(
  server: TestServer,
  projectId: string,
  name: string,
): Promise<{ key: string; value: string; updated: string }[]> {
  // Through the service's SQL layer: PGlite's own decoder (and so Prisma's reads) drops a key's leading U+FEFF.
  return server.services.db.sql.query(Prisma.sql`
    SELECT ${Prisma.raw(shieldedText("key"))} AS key, value, updated::text AS updated FROM items
    WHERE collection_id = (SELECT id FROM collections WHERE project_id = ${projectId}::uuid AND name = ${name})
      AND value IS NOT NULL
    ORDER BY seq`);
}

/** Nothing in an error answer may show the service's insides. */
export function assertNoInternals(text: string): void {
  if (
    /\bat [\w.<>]+ \(|node_modules|\/work\/|\.ts:\d+|\bSELECT\b|\bINSERT\b|\bDELETE FROM\b|prisma|stack/i.test(
      text,
    )
  ) {
    throw new Error(`the answer shows internals: ${text.slice(0, 300)}`);
  }
}

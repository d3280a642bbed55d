import type { TestServer } from "./server.js";
import type { TenantUser } from "./tenant.js";
import { rawRequest, type RawAnswer } from "./raw.js";

export type Reply = RawAnswer;

/** A fetch against the test server as `user`; the body, parsed when it is JSON. */
export async function call(
  server: TestServer,
  user: TenantUser | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  const headers: Record<string, string> = { ...(user?.headers ?? {}) };
  let payload: string | undefined;
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  return rawRequest(server, method, path, headers, payload);
}

/** Percent-encodes a key for the path (every character but unreserved ones). */
export const keyPath = (key: string) =>
  encodeURIComponent(key).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

/** Writes items straight through the service (no HTTP), returning nothing. */
export async function seed(
  server: TestServer,
  collectionName: string,
  projectId: string,
  items: { key: string; value: unknown }[],
): Promise<void> {
  const { upsertItems } = await import("../../server/services/items.js");
  const c = await server.services.db.prisma.collection.findFirstOrThrow({
    where: { name: collectionName, projectId },
    select: { id: true },
  });
  for (let i = 0; i < items.length; i += 5000) {
    await upsertItems(
      server.services.db.sql,
      c.id,
      items.slice(i, i + 5000).map((it) => ({ key: it.key, valueJson: JSON.stringify(it.value) })),
    );
  }
}

/** Sets an item's timestamps (ISO strings with microseconds) directly in the database. */
export async function setTimes(
  server: TestServer,
  collectionName: string,
  projectId: string,
  key: string,
  created: string,
  updated: string,
): Promise<void> {
  const n = await server.services.db.prisma.$executeRaw`
    UPDATE items SET created = ${created}::timestamptz, updated = ${updated}::timestamptz
    WHERE key = ${key} AND collection_id = (SELECT id FROM collections WHERE name = ${collectionName} AND project_id = ${projectId}::uuid)`;
  if (n !== 1) throw new Error(`no item ${key}`);
}

import { request } from "node:http";
import pg from "pg";
import { createTRPCClient, httpLink } from "@trpc/client";
import type { AppRouter } from "../../server/router.js";
import { testEnv } from "./env.js";
import type { TestServer } from "./server.js";
import type { TenantUser } from "./tenant.js";

// Helpers of the issue-11 tests (test/http/integrity-*.test.ts): requests whose request line reaches the
// server byte for byte, the database state behind an answer, and a typed tRPC client.

export interface LineAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or undefined. */
  body: any;
}

/**
 * A request sent with node:http and this exact path in the request line: nothing normalises `\`, `..`,
 * `.` or percent-escapes on the way (fetch and WHATWG URL would).
 */
export function rawLine(
  server: { url: string },
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<LineAnswer> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port: Number(port),
        path,
        method,
        headers:
          body === undefined ? headers : { "content-length": String(Buffer.byteLength(body)), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** rawLine as `user`, with a JSON body when one is given. */
export function lineAs(
  server: { url: string },
  user: TenantUser | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<LineAnswer> {
  const headers: Record<string, string> = { ...(user?.headers ?? {}) };
  let payload: string | undefined;
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  return rawLine(server, method, path, headers, payload);
}

/** The id of collection `name` of project `projectId`. */
export async function collectionIdOf(server: TestServer, projectId: string, name: string): Promise<string> {
  const c = await server.services.db.prisma.collection.findFirstOrThrow({
    where: { name, projectId },
    select: { id: true },
  });
  return c.id;
}

/** The keys stored in a collection, in insertion order, read straight from the database. */
export async function storedKeys(server: TestServer, projectId: string, name: string): Promise<string[]> {
  const rows = await server.services.db.prisma.$queryRaw<{ key: string }[]>`
    SELECT key FROM items
    WHERE collection_id = (SELECT id FROM collections WHERE project_id = ${projectId}::uuid AND name = ${name})
      AND value IS NOT NULL
    ORDER BY seq`;
  return rows.map((r) => r.key);
}

/** A typed tRPC client (httpLink, one request per call) acting as `user`. */
export function trpcAs(server: { url: string }, user: TenantUser) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${server.url}/trpc`, headers: () => user.headers })],
  });
}

/** A second connection to the PostgreSQL server of the test run (DATABASE_URL), for a competing transaction. */
export async function otherConnection(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: testEnv().DATABASE_URL });
  await client.connect();
  return client;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** base64url of a text, as the service's cursors are. */
export const base64url = (text: string) => Buffer.from(text, "utf8").toString("base64url");

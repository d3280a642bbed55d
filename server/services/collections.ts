import { collectionNamePattern, uuidPattern } from "../../contracts/common.js";
import type {
  ListCollectionsOutput,
  ListCollectionsParams,
} from "../../contracts/collections/list-collections.js";
import { Prisma } from "../generated/prisma/client.js";
import type { PrismaClient } from "../db.js";
import type { Env } from "../env.js";
import { forbidden, invalidParameter, notFound } from "../errors.js";
import { may, visibleProjects, type Principal } from "../auth/principal.js";
import { createCollection, deleteCollection } from "./directory.js";

// Collections as the primary API shows them (SPEC §3.4) and their management by project admins.

export interface CollectionSummary {
  name: string;
  project_id: string;
  items: number;
  bytes: number;
  created: string;
  /** SPEC §9.2: the TTL of items written without one, or null. */
  default_ttl_seconds: number | null;
}

/** A project id as stored: `project_id` is a UUID in any letter case (SPEC §2). */
export const projectKey = (projectId: string) => projectId.toLowerCase();

const invalid = invalidParameter;

// The list's keyset cursor: the (name, project id) of the last collection of a page, as base64url JSON.
// It is not tied to the query: any position in the order (name, project id) is a valid place to resume.

function encodeCursor(last: { name: string; project_id: string }): string {
  return Buffer.from(JSON.stringify([last.name, last.project_id])).toString("base64url");
}

function decodeCursor(cursor: string): { name: string; projectId: string } {
  const refused = () => invalid("cursor", "cursor is not a cursor this service issued");
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw refused();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw refused();
  }
  if (!Array.isArray(value) || value.length !== 2) throw refused();
  const [name, projectId] = value as unknown[];
  if (typeof name !== "string" || name.length > 64 || !collectionNamePattern.test(name)) throw refused();
  if (typeof projectId !== "string" || !uuidPattern.test(projectId)) throw refused();
  return { name, projectId: projectKey(projectId) };
}

type ListLimits = Pick<Env, "COLLECTIONS_DEFAULT_LIMIT" | "COLLECTIONS_MAX_LIMIT">;

/**
 * One page of the collections the principal can see (optionally in one project), ordered by name (byte
 * order, the same on every storage) then project id, with their item counts and stored value bytes.
 * Those are the sums of the collection's counter rows (collection_stats, kept by triggers on items,
 * prisma/migrations/20261129052658_collection_stats): no item is read. A page of `limit` (default
 * COLLECTIONS_DEFAULT_LIMIT, at most COLLECTIONS_MAX_LIMIT) is read with one row more, to know whether
 * another page follows: the cursor is null on the last page.
 */
export async function listCollections(
  prisma: PrismaClient,
  principal: Principal,
  params: ListCollectionsParams = {},
  limits: ListLimits,
): Promise<ListCollectionsOutput> {
  const limit = params.limit ?? limits.COLLECTIONS_DEFAULT_LIMIT;
  if (limit > limits.COLLECTIONS_MAX_LIMIT) {
    throw invalid(
      "limit",
      `limit is at most ${limits.COLLECTIONS_MAX_LIMIT} (COLLECTIONS_MAX_LIMIT); read further pages with cursor`,
    );
  }
  const after = params.cursor === undefined ? undefined : decodeCursor(params.cursor);
  let projects = visibleProjects(principal);
  if (params.project_id) projects = projects.filter((p) => p === projectKey(params.project_id!));
  if (projects.length === 0) return { results: [], cursor: null };

  const rows = await collectionPage(prisma, projects, after, limit + 1);
  const results = rows.slice(0, limit);
  return { results, cursor: rows.length > limit ? encodeCursor(results.at(-1)!) : null };
}

/**
 * Up to `limit` collections of `projects` after the position `after` (name, then project id), with their
 * counters: the page of collections first (an index scan of the projects and a sort of their
 * collections' names), then the counters of those only. Also the admin CLI's collection:list.
 */
export function collectionPage(
  prisma: PrismaClient,
  projects: string[],
  after: { name: string; projectId: string } | undefined,
  limit: number,
): Promise<CollectionSummary[]> {
  return prisma.$queryRaw<CollectionSummary[]>`
    SELECT p.name, p.project_id::text AS project_id,
           COALESCE(s.items, 0)::float8 AS items, COALESCE(s.bytes, 0)::float8 AS bytes,
           to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created,
           p.default_ttl_seconds
    FROM (
      SELECT c.id, c.name, c.project_id, c.created_at, c.default_ttl_seconds
      FROM collections c
      WHERE c.project_id = ANY(${projects}::uuid[])
        AND (${after?.name ?? null}::text IS NULL
             OR (c.name COLLATE "C", c.project_id) > (${after?.name ?? null}::text COLLATE "C", ${after?.projectId ?? null}::uuid))
      ORDER BY c.name COLLATE "C", c.project_id
      LIMIT ${limit}
    ) p
    LEFT JOIN LATERAL (SELECT sum(st.items) AS items, sum(st.bytes) AS bytes FROM collection_stats st WHERE st.collection_id = p.id) s ON true
    ORDER BY p.name COLLATE "C", p.project_id`;
}

/** 404 unless the principal is in the project (existence is not leaked), 403 without the "manage" action. */
function checkManage(principal: Principal, projectId: string): void {
  if (!visibleProjects(principal).includes(projectId)) throw notFound(`Project '${projectId}' not found`);
  if (!may(principal, projectId, "manage")) {
    throw forbidden(
      principal.scope === "read"
        ? "This token has read scope; it cannot manage collections"
        : "Your role does not allow you to manage the collections of this project (admin or owner needed)",
    );
  }
}

/** A collection as the management procedures answer it (contracts/collections/create-collection.ts). */
export interface ManagedCollection {
  id: string;
  name: string;
  project_id: string;
  created: string;
  default_ttl_seconds: number | null;
}

const managedColumns = Prisma.sql`id::text AS id, name, project_id::text AS project_id,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created, default_ttl_seconds`;

export async function createCollectionAs(
  prisma: PrismaClient,
  principal: Principal,
  projectIdAsGiven: string,
  name: string,
  defaultTtlSeconds?: number,
): Promise<ManagedCollection> {
  const projectId = projectKey(projectIdAsGiven);
  checkManage(principal, projectId);
  const c = await createCollection(prisma, projectId, name, defaultTtlSeconds);
  const [row] = await prisma.$queryRaw<ManagedCollection[]>`
    SELECT ${managedColumns} FROM collections WHERE id = ${c.id}::uuid`;
  return row!;
}

/**
 * Sets a collection's default TTL (SPEC §9.2; null: none). Writes read it in their own statement, so it
 * applies to every write that starts after this one commits; items already written keep their expiry.
 */
export async function updateCollectionAs(
  prisma: PrismaClient,
  principal: Principal,
  projectIdAsGiven: string,
  name: string,
  defaultTtlSeconds: number | null,
): Promise<ManagedCollection> {
  const projectId = projectKey(projectIdAsGiven);
  checkManage(principal, projectId);
  const [row] = await prisma.$queryRaw<ManagedCollection[]>`
    UPDATE collections SET default_ttl_seconds = ${defaultTtlSeconds}::int
    WHERE project_id = ${projectId}::uuid AND name = ${name}
    RETURNING ${managedColumns}`;
  if (!row) throw notFound(`Collection '${name}' not found`);
  return row;
}

export async function deleteCollectionAs(
  prisma: PrismaClient,
  principal: Principal,
  projectIdAsGiven: string,
  name: string,
) {
  const projectId = projectKey(projectIdAsGiven);
  checkManage(principal, projectId);
  await deleteCollection(prisma, projectId, name);
  return { deleted: true as const };
}

import type { PrismaClient } from "../db.js";
import { forbidden, notFound } from "../errors.js";
import { may, visibleProjects, type Principal } from "../auth/principal.js";
import { createCollection, deleteCollection } from "./directory.js";

// Collections as the primary API shows them (SPEC §3.4) and their management by project admins.

export interface CollectionSummary {
  name: string;
  project_id: string;
  items: number;
  created: string;
}

/** The collections the principal can see, optionally in one project, with their item counts. */
export async function listCollections(prisma: PrismaClient, principal: Principal, projectId?: string): Promise<CollectionSummary[]> {
  let projects = visibleProjects(principal);
  if (projectId) projects = projects.filter((p) => p === projectId);
  if (projects.length === 0) return [];
  return prisma.$queryRaw<CollectionSummary[]>`
    SELECT c.name, c.project_id::text AS project_id,
           (SELECT count(*) FROM items i WHERE i.collection_id = c.id)::int AS items,
           to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created
    FROM collections c
    WHERE c.project_id = ANY(${projects}::uuid[])
    ORDER BY c.name, c.project_id`;
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

export async function createCollectionAs(prisma: PrismaClient, principal: Principal, projectId: string, name: string) {
  checkManage(principal, projectId);
  const c = await createCollection(prisma, projectId, name);
  const [row] = await prisma.$queryRaw<{ created: string }[]>`
    SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created FROM collections WHERE id = ${c.id}::uuid`;
  return { id: c.id, name: c.name, project_id: c.projectId, created: row!.created };
}

export async function deleteCollectionAs(prisma: PrismaClient, principal: Principal, projectId: string, name: string) {
  checkManage(principal, projectId);
  return deleteCollection(prisma, projectId, name);
}

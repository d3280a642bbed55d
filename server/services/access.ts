import type { PrismaClient } from "../db.js";
import { conflict, forbidden, notFound } from "../errors.js";
import { may, visibleProjects, type Action, type Principal } from "../auth/principal.js";

export interface ResolvedCollection {
  id: string;
  name: string;
  projectId: string;
}

const actionWords: Record<Action, string> = {
  read: "read items of",
  write: "write items to",
  deleteAll: "delete every item of",
  manage: "manage",
};

/**
 * Finds the collection `name` among those the principal can see (SPEC §2): 404 when none (whether it
 * does not exist or is not visible), 409 when several projects have it and no project_id narrows it,
 * 403 when it is visible but the action needs a role or scope the principal lacks.
 */
export async function resolveCollection(
  prisma: PrismaClient,
  principal: Principal,
  name: string,
  projectId: string | undefined,
  action: Action,
): Promise<ResolvedCollection> {
  let projects = visibleProjects(principal);
  // Project ids are stored in lower case; a UUID may arrive in either.
  if (projectId) projects = projects.filter((p) => p === projectId.toLowerCase());
  const found = projects.length
    ? await prisma.collection.findMany({
        where: { name, projectId: { in: projects } },
        select: { id: true, name: true, projectId: true },
        take: 2,
      })
    : [];
  if (found.length === 0) throw notFound(`Collection '${name}' not found`);
  if (found.length > 1) {
    throw conflict(
      `Collection name '${name}' exists in several of your projects; add ?project_id=<uuid> to choose one`,
    );
  }
  const collection = found[0]!;
  if (!may(principal, collection.projectId, action)) {
    throw forbidden(
      principal.scope === "read" && action !== "read"
        ? `This token has read scope; it cannot ${actionWords[action]} collection '${name}'`
        : `Your role does not allow you to ${actionWords[action]} collection '${name}'`,
    );
  }
  return collection;
}

import { Prisma } from "../generated/prisma/client.js";
import type { Sql } from "../db.js";
import { conflict, forbidden, notFound } from "../errors.js";
import { may, visibleProjects, type Action, type Principal } from "../auth/principal.js";
import type { ItemRow } from "./items.js";

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
  sql: Sql,
  principal: Principal,
  name: string,
  projectId: string | undefined,
  action: Action,
): Promise<ResolvedCollection> {
  let projects = visibleProjects(principal);
  // Project ids are stored in lower case; a UUID may arrive in either.
  if (projectId) projects = projects.filter((p) => p === projectId.toLowerCase());
  const ahead = principal.kind === "user" ? principal.lookahead : undefined;
  const found =
    ahead && ahead.name === name && ahead.projectId === (projectId ? projectId.toLowerCase() : undefined)
      ? ahead.found // read with the token, under the same conditions
      : projects.length
        ? await sql.query<ResolvedCollection>(
            Prisma.sql`
            SELECT id::text AS id, name, project_id::text AS "projectId" FROM collections
            WHERE name = ${name} AND project_id = ANY(${projects}::uuid[])
            LIMIT 2`,
            { prepare: true },
          )
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

/**
 * The item `key` of the resolved collection as read with the token (CollectionLookahead), or undefined
 * when it was not read along: null means it was read and does not exist.
 */
export function lookaheadItem(
  principal: Principal,
  collectionId: string,
  key: string,
): ItemRow | null | undefined {
  const ahead = principal.kind === "user" ? principal.lookahead : undefined;
  if (
    !ahead ||
    ahead.item === undefined ||
    ahead.key !== key ||
    ahead.found.length !== 1 ||
    ahead.found[0]!.id !== collectionId
  )
    return undefined;
  return ahead.item;
}

import { uuidPattern, type Role, type TokenScope } from "../../contracts/common.js";
import { Prisma } from "../generated/prisma/client.js";
import type { PrismaClient, Sql } from "../db.js";
import { unauthorized } from "../errors.js";
import { itemRowColumns, liveSql } from "../services/items.js";
import type { CollectionLookahead, LookaheadResult, Principal } from "./principal.js";

/** last_used_at is refreshed at most this often per token, so that reads do not each cost a write. */
const LAST_USED_RESOLUTION_MS = 60_000;

interface TokenRow {
  scope: TokenScope;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  user_id: string;
  email: string;
  disabled: boolean;
  memberships: string | { project_id: string; role: Role }[];
  collections: string | { id: string; name: string; projectId: string }[];
  item_key: string | null;
  item_value: string;
  item_created: string;
  item_updated: string;
  item_seq: string;
  item_version: string;
  item_expires: string | null;
}

const parsed = <T>(json: string | T): T => (typeof json === "string" ? (JSON.parse(json) as T) : json);

/**
 * The principal of a verified user token, from its AccessToken row (one query, never cached, so that
 * revocation, expiry, disabling and membership changes apply to the very next request). The same
 * statement reads what `lookahead` names: the collections of that name among the user's projects and,
 * for an exact key in exactly one of them, the item. Whether the request may use them is decided later
 * (server/services/access.ts); a point read then needs no other statement.
 */
export async function userPrincipal(
  sql: Sql,
  userId: string,
  tokenId: string,
  lookahead?: CollectionLookahead,
): Promise<Principal> {
  const projectId = lookahead?.projectId ? lookahead.projectId.toLowerCase() : null;
  const key = lookahead?.key ?? null;
  const rows = await sql.query<TokenRow>(
    Prisma.sql`
    WITH tok AS (
      SELECT t.scope, t.expires_at, t.revoked_at, t.last_used_at, u.id AS user_id, u.email, u.disabled
      FROM access_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.id = ${tokenId}::uuid
    ), named AS (
      SELECT c.id, c.name, c.project_id
      FROM tok JOIN memberships m ON m.user_id = tok.user_id JOIN collections c ON c.project_id = m.project_id
      WHERE c.name = ${lookahead?.name ?? null}::text AND (${projectId}::text IS NULL OR c.project_id::text = ${projectId}::text)
      LIMIT 2
    )
    SELECT tok.scope::text AS scope, tok.expires_at, tok.revoked_at, tok.last_used_at,
           tok.user_id::text AS user_id, tok.email, tok.disabled,
           COALESCE((SELECT json_agg(json_build_object('project_id', m.project_id, 'role', m.role))
                     FROM memberships m WHERE m.user_id = tok.user_id), '[]'::json) AS memberships,
           COALESCE((SELECT json_agg(json_build_object('id', id, 'name', name, 'projectId', project_id)) FROM named), '[]'::json) AS collections,
           ${itemRowColumns("i", "item_")}
    FROM tok LEFT JOIN items i
      ON ${key}::text IS NOT NULL AND i.key = ${key}::text
     AND i.collection_id = (SELECT id FROM named WHERE (SELECT count(*) FROM named) = 1) AND ${liveSql("i")}`,
    { prepare: true },
  );
  const row = rows[0];
  if (!row || row.user_id !== userId) throw unauthorized("The token has been revoked or no longer exists");
  if (row.revoked_at) throw unauthorized("The token has been revoked");
  if (row.expires_at && row.expires_at.getTime() <= Date.now()) throw unauthorized("The token has expired");
  if (row.disabled) throw unauthorized("The token's user account is disabled");

  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
    await sql.execute(Prisma.sql`
      UPDATE access_tokens SET last_used_at = now()
      WHERE id = ${tokenId}::uuid AND (last_used_at IS NULL OR last_used_at < now() - interval '55 seconds')`);
  }
  const memberships = parsed(row.memberships);
  return {
    kind: "user",
    userId: row.user_id,
    email: row.email,
    tokenId,
    scope: row.scope,
    expiresAt: row.expires_at,
    memberships: new Map(memberships.map((m) => [m.project_id, m.role])),
    ...(lookahead ? { lookahead: lookaheadResult(lookahead.name, projectId ?? undefined, key, row) } : {}),
  };
}

function lookaheadResult(
  name: string,
  projectId: string | undefined,
  key: string | null,
  row: TokenRow,
): LookaheadResult {
  const found = parsed(row.collections);
  const result: LookaheadResult = { name, projectId, found };
  if (key !== null && found.length === 1) {
    result.key = key;
    result.item =
      row.item_key === null
        ? null
        : {
            key: row.item_key,
            value: row.item_value,
            created: row.item_created,
            updated: row.item_updated,
            seq: row.item_seq,
            version: row.item_version,
            expires: row.item_expires,
          };
  }
  return result;
}

export interface UserTokenInfo {
  id: string;
  label: string;
  scope: TokenScope;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export function listUserTokens(prisma: PrismaClient, userId: string): Promise<UserTokenInfo[]> {
  return prisma.accessToken.findMany({
    where: { userId },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    select: {
      id: true,
      label: true,
      scope: true,
      createdAt: true,
      expiresAt: true,
      lastUsedAt: true,
      revokedAt: true,
    },
  });
}

/** Revokes the token (of `ownerId` when given); false when there is no such token. Idempotent. */
export async function revokeUserToken(prisma: PrismaClient, id: string, ownerId?: string): Promise<boolean> {
  if (!uuidPattern.test(id)) return false;
  const where = { id: id.toLowerCase(), ...(ownerId ? { userId: ownerId } : {}) };
  const found = await prisma.accessToken.findFirst({ where, select: { id: true } });
  if (!found) return false;
  await prisma.accessToken.updateMany({
    where: { ...where, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return true;
}

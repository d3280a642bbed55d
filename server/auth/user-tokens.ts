import type { Role, TokenScope } from "../../contracts/common.js";
import type { PrismaClient } from "../db.js";
import { unauthorized } from "../errors.js";
import type { Principal } from "./principal.js";

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
}

/**
 * The principal of a verified user token, from its AccessToken row (one query, never cached, so that
 * revocation, expiry, disabling and membership changes apply to the very next request).
 */
export async function userPrincipal(prisma: PrismaClient, userId: string, tokenId: string): Promise<Principal> {
  const rows = await prisma.$queryRaw<TokenRow[]>`
    SELECT t.scope::text AS scope, t.expires_at, t.revoked_at, t.last_used_at,
           u.id::text AS user_id, u.email, u.disabled,
           COALESCE((SELECT json_agg(json_build_object('project_id', m.project_id, 'role', m.role))
                     FROM memberships m WHERE m.user_id = u.id), '[]'::json) AS memberships
    FROM access_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.id = ${tokenId}::uuid`;
  const row = rows[0];
  if (!row || row.user_id !== userId) throw unauthorized("The token has been revoked or no longer exists");
  if (row.revoked_at) throw unauthorized("The token has been revoked");
  if (row.expires_at && row.expires_at.getTime() <= Date.now()) throw unauthorized("The token has expired");
  if (row.disabled) throw unauthorized("The token's user account is disabled");

  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() >= LAST_USED_RESOLUTION_MS) {
    await prisma.$executeRaw`
      UPDATE access_tokens SET last_used_at = now()
      WHERE id = ${tokenId}::uuid AND (last_used_at IS NULL OR last_used_at < now() - interval '55 seconds')`;
  }
  const memberships = typeof row.memberships === "string" ? JSON.parse(row.memberships) : row.memberships;
  return {
    kind: "user",
    userId: row.user_id,
    email: row.email,
    tokenId,
    scope: row.scope,
    memberships: new Map(memberships.map((m: { project_id: string; role: Role }) => [m.project_id, m.role])),
  };
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
    select: { id: true, label: true, scope: true, createdAt: true, expiresAt: true, lastUsedAt: true, revokedAt: true },
  });
}

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Revokes the token (of `ownerId` when given); false when there is no such token. Idempotent. */
export async function revokeUserToken(prisma: PrismaClient, id: string, ownerId?: string): Promise<boolean> {
  if (!uuidRe.test(id)) return false;
  const where = { id: id.toLowerCase(), ...(ownerId ? { userId: ownerId } : {}) };
  const found = await prisma.accessToken.findFirst({ where, select: { id: true } });
  if (!found) return false;
  await prisma.accessToken.updateMany({ where: { ...where, revokedAt: null }, data: { revokedAt: new Date() } });
  return true;
}

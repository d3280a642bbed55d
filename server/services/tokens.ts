import type { CreateTokenInput, CreateTokenOutput } from "../../contracts/tokens/create-token.js";
import type { ListTokensOutput } from "../../contracts/tokens/list-tokens.js";
import type { TokenInfo } from "../../contracts/tokens/token-info.js";
import type {
  CreateRunTokenInput,
  CreateRunTokenOutput,
} from "../../contracts/run-tokens/create-run-token.js";
import type { AuthService } from "../context.js";
import type { RunTokenRequest, UserTokenRequest } from "../auth/index.js";
import type { UserTokenInfo } from "../auth/user-tokens.js";
import { may, visibleProjects, type Principal } from "../auth/principal.js";
import { badRequest, describeIssues, forbidden, notFound } from "../errors.js";

// A signed-in user's own access tokens, and run tokens minted by project admins (SPEC §2).

type UserPrincipal = Extract<Principal, { kind: "user" }>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function tokenInfo(t: UserTokenInfo): TokenInfo {
  return {
    id: t.id,
    label: t.label,
    scope: t.scope,
    created: t.createdAt.toISOString(),
    expires_at: iso(t.expiresAt),
    last_used_at: iso(t.lastUsedAt),
    revoked_at: iso(t.revokedAt),
  };
}

export async function listOwnTokens(auth: AuthService, principal: UserPrincipal): Promise<ListTokensOutput> {
  return { results: (await auth.listUserTokens(principal.userId)).map(tokenInfo) };
}

/**
 * SPEC §2: a token used to create another token can only give it less. A lifetime (`field` of the
 * request, in seconds) that would end after the caller's own token is refused with 400 naming the field
 * (refused rather than cut short, so that nobody gets a token shorter-lived than they asked for without
 * knowing). Without a lifetime, the new token gets the caller's expiry (the issuer applies the ceiling:
 * `notAfter`). Principals whose token does not expire are not limited.
 */
function expiryCeiling(
  principal: Principal,
  requestedSeconds: number | undefined,
  field: string,
): Date | undefined {
  const expiresAt = principal.kind === "user" ? principal.expiresAt : null;
  if (!expiresAt) return undefined;
  const remaining = Math.floor(expiresAt.getTime() / 1000) - Math.floor(Date.now() / 1000);
  if (requestedSeconds !== undefined && requestedSeconds > remaining) {
    const issues = [
      {
        path: field,
        message: `${field} ${requestedSeconds} ends after the token this request is made with, which expires at ${expiresAt.toISOString()} (in ${Math.max(remaining, 0)} s); a token can only create tokens that expire no later than itself`,
      },
    ];
    throw badRequest(describeIssues(issues), issues);
  }
  return expiresAt;
}

export async function createOwnToken(
  auth: AuthService,
  principal: UserPrincipal,
  input: CreateTokenInput,
): Promise<CreateTokenOutput> {
  // Never a wider scope (the router already refuses read-scoped callers altogether).
  if (principal.scope === "read" && input.scope !== "read")
    throw forbidden("This token has read scope; it cannot create a write-scoped token");
  const request: UserTokenRequest = {
    userId: principal.userId,
    label: input.label,
    scope: input.scope,
    expiresInSeconds: input.expires_in,
    notAfter: expiryCeiling(principal, input.expires_in, "expires_in"),
  };
  const created = await auth.createUserToken(request);
  const info = (await auth.listUserTokens(principal.userId)).find((t) => t.id === created.id)!;
  return { ...tokenInfo(info), token: created.token };
}

export async function revokeOwnToken(auth: AuthService, principal: UserPrincipal, id: string) {
  if (!(await auth.revokeUserToken(id, principal.userId)))
    throw notFound(`You have no token with id '${id}'`);
  return { id: id.toLowerCase(), revoked: true as const };
}

export async function mintRunToken(
  auth: AuthService,
  principal: Principal,
  input: CreateRunTokenInput,
): Promise<CreateRunTokenOutput> {
  const projectId = input.project_id.toLowerCase();
  if (!visibleProjects(principal).includes(projectId)) throw notFound(`Project '${projectId}' not found`);
  if (principal.scope === "read") throw forbidden("This token has read scope; it cannot mint run tokens");
  if (!may(principal, projectId, "manage"))
    throw forbidden("Only a project's admins and owners may mint run tokens for it");
  const request: RunTokenRequest = {
    projectId,
    runId: input.run_id,
    ttlSeconds: input.ttl,
    notAfter: expiryCeiling(principal, input.ttl, "ttl"),
  };
  const t = await auth.createRunToken(request);
  return { token: t.token, run_id: t.runId, project_id: projectId, expires_at: t.expiresAt.toISOString() };
}

import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import type { AuthService } from "../context.js";
import type { Database } from "../db.js";
import type { Env } from "../env.js";
import { badRequest, notFound } from "../errors.js";
import { createLogger, type Logger } from "../log.js";
import { loadExternalIssuer } from "./external.js";
import { logKeySource } from "./key-notes.js";
import { loadOwnKeys, OWN_ALGORITHM } from "./keys.js";
import type { Principal } from "./principal.js";
import { listUserTokens, revokeUserToken, userPrincipal } from "./user-tokens.js";
import { bearerToken, verifyToken } from "./verify.js";
import { VerifiedTokens } from "./verified-tokens.js";

const MAX_RUN_ID_LENGTH = 200;

export type UserTokenRequest = Parameters<AuthService["createUserToken"]>[0];
export type RunTokenRequest = Parameters<AuthService["createRunToken"]>[0];

/** `exp` (seconds) of a new token: `now + lifetime` (none: no expiry), never after `notAfter`. */
function expiryWithin(
  now: number,
  lifetimeSeconds: number | undefined,
  notAfter: Date | undefined,
): number | undefined {
  const ceiling = notAfter === undefined ? undefined : Math.floor(notAfter.getTime() / 1000);
  const exp = lifetimeSeconds === undefined ? ceiling : now + lifetimeSeconds;
  if (ceiling === undefined || exp === undefined) return exp;
  if (ceiling <= now)
    throw badRequest(
      "The token this request is made with expires within a second; it can no longer create tokens",
    );
  return Math.min(exp, ceiling);
}

/**
 * Loads and checks the keys (throwing an Error that names the setting at fault) and returns the
 * service that issues and verifies every token. Boot notes about the keys go to `log` (by default JSON
 * lines on stderr: the admin CLI's stdout carries its JSON answer only).
 */
export async function createAuth(
  env: Env,
  db: Database,
  log: Logger = createLogger(env.LOG_LEVEL, (line) => process.stderr.write(line)),
): Promise<AuthService> {
  const external = loadExternalIssuer(env);
  const keys = await loadOwnKeys(env, db.prisma);
  logKeySource(keys, env, log);
  const { prisma } = db;
  const verifier = {
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    clockTolerance: env.JWT_CLOCK_TOLERANCE_SECONDS,
    ownKeys: keys.verificationKeys,
    external,
    verified: new VerifiedTokens(),
  };

  const jwt = (claims: Record<string, unknown>, subject: string, issuedAt: number) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: OWN_ALGORITHM, kid: keys.kid, typ: "JWT" })
      .setIssuer(env.JWT_ISSUER)
      .setAudience(env.JWT_AUDIENCE)
      .setSubject(subject)
      .setIssuedAt(issuedAt);

  return {
    async authenticate(authorization, lookahead): Promise<Principal> {
      const verified = await verifyToken(bearerToken(authorization), verifier);
      if (verified.kind === "run")
        return { kind: "run", runId: verified.runId, projectId: verified.projectId, scope: "write" };
      return userPrincipal(db.sql, verified.userId, verified.tokenId, lookahead);
    },

    async createUserToken({
      userId,
      label = "",
      scope = "write",
      expiresInSeconds,
      notAfter,
    }: UserTokenRequest) {
      const user = await prisma.user.findUnique({ where: { id: userId }, select: { id: true } });
      if (!user) throw notFound(`No user with id '${userId}'`);
      // One clock reading for iat, exp and the row, so that exp - iat is exactly the lifetime asked for.
      const now = Math.floor(Date.now() / 1000);
      const exp = expiryWithin(now, expiresInSeconds, notAfter);
      const expiresAt = exp === undefined ? null : new Date(exp * 1000);
      const row = await prisma.accessToken.create({
        data: { userId, label, scope, expiresAt },
        select: { id: true },
      });
      let token = jwt({ scope }, `user:${userId}`, now).setJti(row.id);
      if (exp !== undefined) token = token.setExpirationTime(exp);
      return { id: row.id, token: await token.sign(keys.signingKey), expiresAt };
    },

    revokeUserToken: (id, ownerId) => revokeUserToken(prisma, id, ownerId),
    listUserTokens: (userId) => listUserTokens(prisma, userId),

    async createRunToken({
      projectId,
      runId = randomUUID(),
      ttlSeconds = env.RUN_TOKEN_TTL_SECONDS,
      notAfter,
    }: RunTokenRequest) {
      if (ttlSeconds > env.RUN_TOKEN_MAX_TTL_SECONDS) {
        throw badRequest(
          `A run token lives at most ${env.RUN_TOKEN_MAX_TTL_SECONDS} seconds (RUN_TOKEN_MAX_TTL_SECONDS); ttl ${ttlSeconds} is too long`,
        );
      }
      if (runId.length === 0 || runId.length > MAX_RUN_ID_LENGTH || /[\s\p{Cc}]/u.test(runId)) {
        throw badRequest(
          `A run id is 1 to ${MAX_RUN_ID_LENGTH} characters without spaces or control characters`,
        );
      }
      const now = Math.floor(Date.now() / 1000);
      const exp = expiryWithin(now, ttlSeconds, notAfter)!;
      const token = await jwt({ project_id: projectId }, `run:${runId}`, now)
        .setJti(randomUUID())
        .setNotBefore(now)
        .setExpirationTime(exp)
        .sign(keys.signingKey);
      return { token, expiresAt: new Date(exp * 1000), runId };
    },
  };
}

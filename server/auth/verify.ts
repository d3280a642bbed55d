import { uuidPattern } from "../../contracts/common.js";
import {
  decodeJwt,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from "jose";
import { AppError, unauthorized } from "../errors.js";
import type { ExternalIssuer } from "./external.js";
import { OWN_ALGORITHM } from "./keys.js";
import type { VerifiedTokens } from "./verified-tokens.js";

/** What a token's verified claims say, before the database is consulted. */
export type VerifiedToken =
  { kind: "user"; userId: string; tokenId: string } | { kind: "run"; runId: string; projectId: string };

export interface VerifierConfig {
  issuer: string;
  audience: string;
  clockTolerance: number;
  ownKeys: JWTVerifyGetKey;
  external?: ExternalIssuer;
  /** Our own tokens verified before (never the external issuer's). */
  verified?: VerifiedTokens;
}

const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(authorization: string | undefined): string {
  if (!authorization?.trim())
    throw unauthorized("Missing Authorization header; send 'Authorization: Bearer <token>'");
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (!m) throw unauthorized("The Authorization header must be 'Bearer <token>'");
  if (!jwtShape.test(m[1]!)) throw unauthorized("The bearer token is malformed: it is not a JWT");
  return m[1]!;
}

const quote = (v: unknown) => JSON.stringify(String(v).slice(0, 100));

function rejection(e: unknown, issuer: ExternalIssuer | undefined): AppError {
  if (!(e instanceof errors.JOSEError)) {
    if (issuer?.remote)
      return new AppError(
        "SERVICE_UNAVAILABLE",
        "The keys of the run-token issuer cannot be fetched; try again shortly",
      );
    throw e;
  }
  if (e instanceof errors.JWTExpired) return unauthorized("The token has expired");
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === "nbf" || e.claim === "iat") return unauthorized("The token is not yet valid");
    if (e.claim === "aud") return unauthorized("The token's audience (aud) is not accepted by this service");
    if (e.claim === "iss") return unauthorized("The token's issuer (iss) is not accepted by this service");
    return unauthorized(`The token's ${e.claim} claim is invalid: ${e.reason}`);
  }
  if (e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported)
    return unauthorized("The token's signing algorithm (alg) is not accepted");
  if (e instanceof errors.JWSSignatureVerificationFailed)
    return unauthorized("The token's signature is invalid");
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys)
    return unauthorized("The token is signed by a key this service does not know");
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) {
    return new AppError(
      "SERVICE_UNAVAILABLE",
      "The keys of the run-token issuer cannot be fetched; try again shortly",
    );
  }
  return unauthorized("The bearer token is malformed or invalid");
}

function runClaims(payload: JWTPayload): VerifiedToken {
  const runId = payload.sub!.slice("run:".length);
  const projectId = payload.project_id;
  if (!runId) throw unauthorized("The run token's subject names no run (expected sub 'run:<run id>')");
  if (typeof projectId !== "string" || !uuidPattern.test(projectId))
    throw unauthorized("The run token has no valid project_id claim (a UUID)");
  return { kind: "run", runId, projectId: projectId.toLowerCase() };
}

/**
 * jwtVerify against a key set. When several keys of the set could have signed the token (keys without a
 * `kid`, such as several PEM keys of one type during a rotation), jose reports them all and each is tried:
 * the first whose signature matches decides (its claims are then checked as usual); when none matches, the
 * token is signed by a key this service does not know.
 */
async function verifyWithKeySet(
  token: string,
  keys: JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, keys, options)).payload;
  } catch (e) {
    if (!(e instanceof errors.JWKSMultipleMatchingKeys)) throw e;
    for await (const key of e) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWKSNoMatchingKey();
  }
}

/** Verifies signature, algorithm, issuer, audience and times; says which kind of token it is. */
export async function verifyToken(token: string, config: VerifierConfig): Promise<VerifiedToken> {
  const known = config.verified?.get(token);
  if (known) return known;
  let unverifiedIssuer: unknown;
  try {
    unverifiedIssuer = decodeJwt(token).iss;
  } catch {
    throw unauthorized("The bearer token is malformed: it is not a JWT");
  }
  // The unverified issuer only chooses which keys and rules apply; verification then pins that issuer.
  const external =
    config.external && unverifiedIssuer === config.external.issuer ? config.external : undefined;
  if (!external && unverifiedIssuer !== config.issuer)
    throw unauthorized(`The token's issuer (iss) ${quote(unverifiedIssuer)} is not accepted by this service`);

  let payload: JWTPayload;
  try {
    payload = external
      ? await verifyWithKeySet(token, external.keys, {
          algorithms: external.algorithms,
          issuer: external.issuer,
          audience: external.audience,
          clockTolerance: config.clockTolerance,
          requiredClaims: ["sub", "exp"],
        })
      : await verifyWithKeySet(token, config.ownKeys, {
          algorithms: [OWN_ALGORITHM],
          issuer: config.issuer,
          audience: config.audience,
          clockTolerance: config.clockTolerance,
          requiredClaims: ["sub", "iat"],
        });
  } catch (e) {
    throw rejection(e, external);
  }

  const verified = claimsOf(payload, external !== undefined);
  if (!external)
    config.verified?.remember(
      token,
      verified,
      payload.exp === undefined ? undefined : (payload.exp + config.clockTolerance) * 1000,
    );
  return verified;
}

function claimsOf(payload: JWTPayload, external: boolean): VerifiedToken {
  const sub = String(payload.sub);
  if (sub.startsWith("run:")) {
    if (!external && payload.exp === undefined) throw unauthorized("The run token has no expiry (exp)");
    return runClaims(payload);
  }
  if (external) throw unauthorized("Tokens of the external issuer must be run tokens (sub 'run:<run id>')");
  const userId = sub.startsWith("user:") ? sub.slice("user:".length) : "";
  if (!uuidPattern.test(userId) || typeof payload.jti !== "string" || !uuidPattern.test(payload.jti)) {
    throw unauthorized("The token's subject is neither 'user:<id>' with a token id (jti) nor 'run:<run id>'");
  }
  return { kind: "user", userId: userId.toLowerCase(), tokenId: payload.jti.toLowerCase() };
}

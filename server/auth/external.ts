import { createPublicKey, type KeyObject } from "node:crypto";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";
import type { Env } from "../env.js";
import { algorithmsForKey, describeKey, pemSetting, publicKeysFromPem, readSettingFile } from "./pem.js";

/** An orchestrator whose run tokens this service accepts (EXTERNAL_RUN_TOKEN_*). */
export interface ExternalIssuer {
  issuer: string;
  audience: string;
  algorithms: string[];
  keys: JWTVerifyGetKey;
  /** Errors fetching keys from here are the orchestrator's outage, not the caller's fault. */
  remote: boolean;
}

const sourceNames = [
  "EXTERNAL_RUN_TOKEN_PUBLIC_KEY",
  "EXTERNAL_RUN_TOKEN_PUBLIC_KEY_FILE",
  "EXTERNAL_RUN_TOKEN_JWKS_FILE",
  "EXTERNAL_RUN_TOKEN_JWKS_URL",
] as const;

function checkUsable(key: KeyObject, algorithms: string[], what: string): void {
  if (!algorithmsForKey(key).some((a) => algorithms.includes(a))) {
    throw new Error(
      `${what} is an ${describeKey(key)} key, which none of EXTERNAL_RUN_TOKEN_ALGORITHMS (${algorithms.join(",")}) can use`,
    );
  }
}

function jwksFromFile(path: string, algorithms: string[]): JWTVerifyGetKey {
  const name = "EXTERNAL_RUN_TOKEN_JWKS_FILE";
  let doc: JSONWebKeySet;
  try {
    doc = JSON.parse(readSettingFile(name, path));
  } catch (e) {
    throw new Error(
      e instanceof SyntaxError ? `${name}: ${path} is not JSON (${e.message})` : (e as Error).message,
    );
  }
  if (!doc || !Array.isArray(doc.keys) || doc.keys.length === 0)
    throw new Error(`${name}: ${path} is not a JWKS document ({"keys": [ … ]} with at least one key)`);
  doc.keys.forEach((jwk: JWK, i) => {
    const what = `${name}: key #${i + 1}${jwk.kid ? ` (kid ${jwk.kid})` : ""}`;
    if (jwk.kty === "oct") throw new Error(`${what} is a symmetric key; only public keys are accepted`);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as never, format: "jwk" });
    } catch (e) {
      throw new Error(`${what} is not a valid public JWK (${(e as Error).message})`);
    }
    checkUsable(key, algorithms, what);
    if (jwk.alg && !algorithms.includes(jwk.alg))
      throw new Error(`${what} has alg ${jwk.alg}, not in EXTERNAL_RUN_TOKEN_ALGORITHMS`);
  });
  return createLocalJWKSet(doc);
}

/**
 * The keys of EXTERNAL_RUN_TOKEN_PUBLIC_KEY. A PEM key has no key id, so the token's `kid` (whatever the
 * orchestrator calls its key) cannot choose one, and during a rotation several keys of the same type are
 * configured at once. Every configured key that can verify the token's algorithm is therefore a
 * candidate: they are handed over the way jose reports several matching keys of a key set (a
 * JWKSMultipleMatchingKeys that yields them), and verifyToken (./verify.ts) tries each in turn. A token
 * no candidate verifies is "signed by a key this service does not know". Algorithms, issuer and audience
 * are checked by jwtVerify as for any key.
 */
function keysFromPem(pem: string, algorithms: string[]): JWTVerifyGetKey {
  const sets = publicKeysFromPem(pem, "EXTERNAL_RUN_TOKEN_PUBLIC_KEY").map((k, i) => {
    checkUsable(k, algorithms, `EXTERNAL_RUN_TOKEN_PUBLIC_KEY: key #${i + 1}`);
    return createLocalJWKSet({ keys: [k.export({ format: "jwk" }) as JWK] });
  });
  return async (header) => {
    const candidates: CryptoKey[] = [];
    for (const set of sets) {
      try {
        candidates.push(await set({ alg: header.alg }));
      } catch (e) {
        if (!(e instanceof errors.JWKSNoMatchingKey)) throw e; // a key of another type than the alg needs
      }
    }
    if (candidates.length === 0) throw new errors.JWKSNoMatchingKey();
    const tryEach = new errors.JWKSMultipleMatchingKeys(
      "every configured key that fits the algorithm is tried",
    );
    tryEach[Symbol.asyncIterator] = async function* () {
      yield* candidates;
    };
    throw tryEach;
  };
}

export function loadExternalIssuer(env: Env): ExternalIssuer | undefined {
  const configured = sourceNames.filter((n) => env[n] !== undefined);
  const issuer = env.EXTERNAL_RUN_TOKEN_ISSUER;
  if (!issuer && configured.length === 0) return undefined;
  if (!issuer)
    throw new Error(
      `${configured[0]} is set but EXTERNAL_RUN_TOKEN_ISSUER is not: name the issuer (iss) of the external run tokens`,
    );
  if (configured.length === 0)
    throw new Error(`EXTERNAL_RUN_TOKEN_ISSUER is set but no key is: set one of ${sourceNames.join(", ")}`);
  if (configured.length > 1) throw new Error(`Set only one of ${configured.join(", ")}`);
  if (issuer === env.JWT_ISSUER) throw new Error("EXTERNAL_RUN_TOKEN_ISSUER must differ from JWT_ISSUER");
  const algorithms = env.EXTERNAL_RUN_TOKEN_ALGORITHMS;
  const base = { issuer, audience: env.EXTERNAL_RUN_TOKEN_AUDIENCE ?? env.JWT_AUDIENCE, algorithms };

  if (env.EXTERNAL_RUN_TOKEN_JWKS_URL) {
    // Cached for 10 minutes; a token with an unknown kid refetches (at most every 30 s).
    const keys = createRemoteJWKSet(new URL(env.EXTERNAL_RUN_TOKEN_JWKS_URL), {
      timeoutDuration: 5000,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
    });
    return { ...base, keys, remote: true };
  }
  if (env.EXTERNAL_RUN_TOKEN_JWKS_FILE)
    return { ...base, keys: jwksFromFile(env.EXTERNAL_RUN_TOKEN_JWKS_FILE, algorithms), remote: false };
  return {
    ...base,
    keys: keysFromPem(pemSetting(env, "EXTERNAL_RUN_TOKEN_PUBLIC_KEY")!, algorithms),
    remote: false,
  };
}

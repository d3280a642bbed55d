import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, createLocalJWKSet, type JWK, type JWTVerifyGetKey } from "jose";
import type { PrismaClient } from "../db.js";
import type { Env } from "../env.js";
import { algorithmsForKey, describeKey, pemBlocks, pemSetting, publicKeysFromPem } from "./pem.js";
import { storedKeyPem, storedSigningKey, type StoredSigningKey } from "./stored-key.js";

/** The one algorithm of the tokens this service signs. */
export const OWN_ALGORITHM = "ES256";

export interface OwnKeys {
  signingKey: KeyObject;
  /** Key id of the signing key: the JWK thumbprint of its public half. */
  kid: string;
  /** The signing key's public half plus JWT_VERIFY_KEYS (older keys still accepted during a rotation). */
  verificationKeys: JWTVerifyGetKey;
  kids: string[];
  /** The configured JWT_SIGNING_KEY, or (none configured) the one stored in the database. */
  source: "configured" | "stored";
  /** source "stored": what this start did with the stored key. */
  stored?: Omit<StoredSigningKey, "key">;
  /**
   * source "configured" while a key is also stored in the database: its key id, whether its tokens are
   * still accepted (its public half is in JWT_VERIFY_KEYS, or it is the configured key itself).
   */
  storedKeyBesides?: { kid: string; accepted: boolean };
}

const keyHelp = "generate one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256";

function parseSigningKey(pem: string, name: string): KeyObject {
  const [block] = pemBlocks(pem, name);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block!, format: "pem" });
  } catch (e) {
    throw new Error(
      `${name} is not a valid PEM private key (PKCS#8 expected; ${keyHelp}): ${(e as Error).message}`,
    );
  }
  if (!algorithmsForKey(key).includes(OWN_ALGORITHM)) {
    throw new Error(
      `${name} is an ${describeKey(key)} key; tokens are signed with ${OWN_ALGORITHM}, which needs an EC P-256 key (${keyHelp})`,
    );
  }
  return key;
}

async function verificationJwk(key: KeyObject): Promise<JWK> {
  const jwk = (key.type === "public" ? key : createPublicKey(key)).export({ format: "jwk" }) as JWK;
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: OWN_ALGORITHM, use: "sig" };
}

/**
 * The service's own keys, checked: the configured JWT_SIGNING_KEY (which always wins), else the key
 * stored in the database (created by the first instance to start), plus JWT_VERIFY_KEYS.
 */
export async function loadOwnKeys(env: Env, prisma: PrismaClient): Promise<OwnKeys> {
  const pem = pemSetting(env, "JWT_SIGNING_KEY");
  const configured = pem === undefined ? undefined : parseSigningKey(pem, "JWT_SIGNING_KEY");
  const extraPem = pemSetting(env, "JWT_VERIFY_KEYS");
  const extra = extraPem === undefined ? [] : publicKeysFromPem(extraPem, "JWT_VERIFY_KEYS");
  extra.forEach((k, i) => {
    if (!algorithmsForKey(k).includes(OWN_ALGORITHM)) {
      throw new Error(
        `JWT_VERIFY_KEYS: key #${i + 1} is an ${describeKey(k)} key; ${OWN_ALGORITHM} needs EC P-256 keys`,
      );
    }
  });
  // The configuration is checked before the database is touched: a bad setting stores nothing.
  const stored = configured ? undefined : await storedSigningKey(prisma, env.DATA_DIR, parseSigningKey);
  const signingKey = configured ?? stored!.key;

  const own = await verificationJwk(signingKey);
  const keys = [own];
  for (const k of extra) {
    const jwk = await verificationJwk(k);
    if (!keys.some((x) => x.kid === jwk.kid)) keys.push(jwk);
  }
  const kids = keys.map((k) => k.kid!);
  const result: OwnKeys = {
    signingKey,
    kid: own.kid!,
    verificationKeys: createLocalJWKSet({ keys }),
    kids,
    source: "configured",
  };
  if (stored)
    return {
      ...result,
      source: "stored",
      stored: { origin: stored.origin, ignoredFile: stored.ignoredFile },
    };
  const besidesPem = await storedKeyPem(prisma);
  if (besidesPem === undefined) return result;
  const besides = await storedKeyId(besidesPem);
  return { ...result, storedKeyBesides: { kid: besides, accepted: kids.includes(besides) } };
}

/** The key id of a stored key's public half ("unreadable" when it does not parse: then nothing accepts it). */
async function storedKeyId(pem: string): Promise<string> {
  try {
    return (await verificationJwk(createPublicKey({ key: pem, format: "pem" }))).kid!;
  } catch {
    return "unreadable";
  }
}

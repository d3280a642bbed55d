import { createPrivateKey, generateKeyPairSync, createPublicKey, type KeyObject } from "node:crypto";
import { chmodSync, linkSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, createLocalJWKSet, type JWK, type JWTVerifyGetKey } from "jose";
import type { Env } from "../env.js";
import { algorithmsForKey, describeKey, pemBlocks, pemSetting, publicKeysFromPem, readSettingFile } from "./pem.js";

/** The one algorithm of the tokens this service signs. */
export const OWN_ALGORITHM = "ES256";

export interface OwnKeys {
  signingKey: KeyObject;
  /** Key id of the signing key: the JWK thumbprint of its public half. */
  kid: string;
  /** The signing key's public half plus JWT_VERIFY_KEYS (older keys still accepted during a rotation). */
  verificationKeys: JWTVerifyGetKey;
  kids: string[];
  /** Set when no key was configured and one was generated or reused under DATA_DIR. */
  generatedKeyFile?: string;
}

const keyHelp = "generate one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256";

function parseSigningKey(pem: string, name: string): KeyObject {
  const [block] = pemBlocks(pem, name);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block!, format: "pem" });
  } catch (e) {
    throw new Error(`${name} is not a valid PEM private key (PKCS#8 expected; ${keyHelp}): ${(e as Error).message}`);
  }
  if (!algorithmsForKey(key).includes(OWN_ALGORITHM)) {
    throw new Error(`${name} is an ${describeKey(key)} key; tokens are signed with ${OWN_ALGORITHM}, which needs an EC P-256 key (${keyHelp})`);
  }
  return key;
}

/** The key under DATA_DIR, created (mode 0600) on first start; concurrent starters end up with the same one. */
function generatedSigningKey(dataDir: string): { key: KeyObject; file: string } {
  const file = join(dataDir, "jwt-signing-key.pem");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, pem, { mode: 0o600, flag: "wx" });
  try {
    linkSync(tmp, file); // atomic: fails with EEXIST when another process (or an earlier start) made it
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
  chmodSync(file, 0o600);
  const text = readSettingFile("generated signing key", file);
  try {
    return { key: parseSigningKey(text, file), file };
  } catch (e) {
    throw new Error(`${(e as Error).message}. Delete ${file} to have a new key generated (tokens signed with the old one stop working).`);
  }
}

async function verificationJwk(key: KeyObject): Promise<JWK> {
  const jwk = (key.type === "public" ? key : createPublicKey(key)).export({ format: "jwk" }) as JWK;
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: OWN_ALGORITHM, use: "sig" };
}

export async function loadOwnKeys(env: Env): Promise<OwnKeys> {
  const pem = pemSetting(env, "JWT_SIGNING_KEY");
  const generated = pem === undefined ? generatedSigningKey(env.DATA_DIR) : undefined;
  const signingKey = generated?.key ?? parseSigningKey(pem!, "JWT_SIGNING_KEY");

  const extraPem = pemSetting(env, "JWT_VERIFY_KEYS");
  const extra = extraPem === undefined ? [] : publicKeysFromPem(extraPem, "JWT_VERIFY_KEYS");
  extra.forEach((k, i) => {
    if (!algorithmsForKey(k).includes(OWN_ALGORITHM)) {
      throw new Error(`JWT_VERIFY_KEYS: key #${i + 1} is an ${describeKey(k)} key; ${OWN_ALGORITHM} needs EC P-256 keys`);
    }
  });

  const own = await verificationJwk(signingKey);
  const keys = [own];
  for (const k of extra) {
    const jwk = await verificationJwk(k);
    if (!keys.some((x) => x.kid === jwk.kid)) keys.push(jwk);
  }
  return {
    signingKey,
    kid: own.kid!,
    verificationKeys: createLocalJWKSet({ keys }),
    kids: keys.map((k) => k.kid!),
    generatedKeyFile: generated?.file,
  };
}

import { readFileSync } from "node:fs";
import { createPublicKey, type KeyObject } from "node:crypto";

// Reading key material from configuration. Every problem is an Error whose message names the variable.

/** The PEM text of `name` (inline, a literal "\n" counting as a newline) or of `${name}_FILE`. */
export function pemSetting(env: Record<string, unknown>, name: string): string | undefined {
  const inline = env[name] as string | undefined;
  const file = env[`${name}_FILE`] as string | undefined;
  if (inline !== undefined && file !== undefined) throw new Error(`Set ${name} or ${name}_FILE, not both`);
  if (inline !== undefined) return inline.replace(/\\n/g, "\n");
  if (file !== undefined) return readSettingFile(`${name}_FILE`, file);
  return undefined;
}

export function readSettingFile(name: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(
      `${name}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

/** The PEM blocks of a text holding one or more of them. */
export function pemBlocks(text: string, name: string): string[] {
  const blocks = text.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${name} does not contain a PEM key (-----BEGIN … KEY-----)`);
  return blocks;
}

/** Public keys from PEM blocks (SPKI public keys; a private key yields its public half). */
export function publicKeysFromPem(text: string, name: string): KeyObject[] {
  return pemBlocks(text, name).map((pem, i) => {
    try {
      return createPublicKey({ key: pem, format: "pem" });
    } catch (e) {
      throw new Error(`${name}: key #${i + 1} is not a valid PEM public key (${(e as Error).message})`);
    }
  });
}

/** A short description of a key's type, for messages: "rsa", "ec P-256", "ed25519". */
export function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const curveName =
    curve === "prime256v1"
      ? "P-256"
      : curve === "secp384r1"
        ? "P-384"
        : curve === "secp521r1"
          ? "P-521"
          : curve;
  return key.asymmetricKeyType === "ec" ? `ec ${curveName}` : String(key.asymmetricKeyType ?? key.type);
}

/** The JWS algorithms a key can verify. */
export function algorithmsForKey(key: KeyObject): string[] {
  switch (describeKey(key)) {
    case "rsa":
      return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
    case "rsa-pss":
      return ["PS256", "PS384", "PS512"];
    case "ec P-256":
      return ["ES256"];
    case "ec P-384":
      return ["ES384"];
    case "ec P-521":
      return ["ES512"];
    case "ed25519":
      return ["EdDSA"];
    default:
      return [];
  }
}

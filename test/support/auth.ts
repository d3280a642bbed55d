import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { SignJWT, type JWTPayload } from "jose";
import type { TestServer } from "./server.js";

// Key pairs and hand-made tokens for the authentication tests.

export interface TestKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#8 */
  privatePem: string;
  /** SPKI */
  publicPem: string;
}

export function keyPair(type: "ec" | "rsa" | "ed25519" = "ec"): TestKeyPair {
  const { privateKey, publicKey } =
    type === "ec"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : type === "rsa"
        ? generateKeyPairSync("rsa", { modulusLength: 2048 })
        : generateKeyPairSync("ed25519");
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }) as string,
    publicPem: publicKey.export({ format: "pem", type: "spki" }) as string,
  };
}

const now = () => Math.floor(Date.now() / 1000);

/** A JWT signed with `key`; `claims` are added to iat = now (set a claim to undefined to drop it). */
export function sign(
  key: KeyObject | Uint8Array,
  claims: JWTPayload,
  header: { alg: string; kid?: string; typ?: string } = { alg: "ES256" },
): Promise<string> {
  const payload: JWTPayload = { iat: now(), ...claims };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

export const b64url = (v: unknown) =>
  Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
export const decodePart = (token: string, i: 0 | 1) =>
  JSON.parse(Buffer.from(token.split(".")[i]!, "base64url").toString("utf8"));

export interface RawReply {
  status: number;
  body: any;
}

/** A fetch with exactly this Authorization header (none when undefined). */
export async function send(
  server: TestServer,
  authorization: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<RawReply> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(server.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

export const bearer = (token: string) => `Bearer ${token}`;

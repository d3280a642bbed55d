import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { PrismaClient } from "../db.js";
import { readSettingFile } from "./pem.js";

// The signing key when JWT_SIGNING_KEY is not configured: one key in the database (table signing_keys),
// so that every instance on one PostgreSQL database signs and verifies with the same key (SPEC §7).

/** Where earlier versions generated the key, under DATA_DIR. Read (imported once), never written. */
export const legacyKeyFile = (dataDir: string) => join(dataDir, "jwt-signing-key.pem");

export const STORED_KEY_TABLE = "signing_keys";
const ROW = 1;

export interface StoredSigningKey {
  key: KeyObject;
  /** What this start did: generated the stored key, imported it from the legacy file, or found it there. */
  origin: "generated" | "imported" | "existing";
  /** The legacy key file, when it exists and holds another key than the stored one (so it is not used). */
  ignoredFile?: string;
}

type ParseKey = (pem: string, name: string) => KeyObject;

const newKeyPem = () =>
  generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    format: "pem",
    type: "pkcs8",
  }) as string;

const samePem = (a: string, b: string) => a.trim() === b.trim();

/**
 * The stored signing key, created on the first start: from the legacy key file under DATA_DIR if there
 * is one (so that tokens it signed stay valid), else generated. Instances starting at the same moment
 * each try `INSERT … ON CONFLICT DO NOTHING` and then read the one row that won, so all use the same key.
 */
export async function storedSigningKey(
  prisma: PrismaClient,
  dataDir: string,
  parse: ParseKey,
): Promise<StoredSigningKey> {
  const file = legacyKeyFile(dataDir);
  const legacyPem = existsSync(file) ? readSettingFile("the signing key file", file) : undefined;
  const read = () => prisma.signingKey.findUnique({ where: { id: ROW }, select: { privateKey: true } });

  let origin: StoredSigningKey["origin"] = "existing";
  let row = await read();
  if (!row) {
    if (legacyPem !== undefined) {
      try {
        parse(legacyPem, file);
      } catch (e) {
        throw new Error(
          `${(e as Error).message}. Delete ${file} to have a new key generated (tokens signed with the old one stop working).`,
        );
      }
    }
    const candidate = legacyPem ?? newKeyPem();
    const { count } = await prisma.signingKey.createMany({
      data: [{ id: ROW, privateKey: candidate }],
      skipDuplicates: true,
    });
    if (count === 1) origin = legacyPem !== undefined ? "imported" : "generated";
    row = await read();
    if (!row)
      throw new Error(
        `The signing key was stored in table ${STORED_KEY_TABLE} and is gone: was it deleted while starting?`,
      );
  }

  let key: KeyObject;
  try {
    key = parse(row.privateKey, `the signing key stored in the database (table ${STORED_KEY_TABLE})`);
  } catch (e) {
    throw new Error(
      `${(e as Error).message}. Delete it (DELETE FROM ${STORED_KEY_TABLE}) to have a new one generated ` +
        `(tokens signed with the old one stop working), or configure JWT_SIGNING_KEY.`,
    );
  }
  const ignoredFile = legacyPem !== undefined && !samePem(legacyPem, row.privateKey) ? file : undefined;
  return { key, origin, ignoredFile };
}

/** The stored key's PEM, if there is one (to warn when a configured key takes its place). */
export async function storedKeyPem(prisma: PrismaClient): Promise<string | undefined> {
  const row = await prisma.signingKey.findUnique({ where: { id: ROW }, select: { privateKey: true } });
  return row?.privateKey;
}

import type { Env } from "../env.js";
import type { Logger } from "../log.js";
import type { OwnKeys } from "./keys.js";
import { legacyKeyFile, STORED_KEY_TABLE } from "./stored-key.js";

/** Boot notes about where the signing key comes from (SPEC §7: several instances share the stored key). */
export function logKeySource(keys: OwnKeys, env: Env, log: Logger): void {
  const table = STORED_KEY_TABLE;
  if (keys.source === "stored") {
    const { origin, ignoredFile } = keys.stored!;
    if (env.DATABASE_URL) {
      log.warn(
        `No JWT_SIGNING_KEY configured: tokens are signed with the key stored in the database (table ${table}), which ` +
          "every instance on this database shares. Whoever can read that table can sign tokens: in production " +
          "configure JWT_SIGNING_KEY (or JWT_SIGNING_KEY_FILE) on every instance (see README, Several instances).",
        { kid: keys.kid, key: origin },
      );
    }
    if (origin === "imported") {
      log.info(
        `Imported the signing key file of an earlier version into the database (table ${table}); the file is no longer needed`,
        {
          key_file: legacyKeyFile(env.DATA_DIR),
          kid: keys.kid,
        },
      );
    }
    if (ignoredFile) {
      log.warn(
        `${ignoredFile} is not the signing key stored in the database and is not used: tokens it signed are refused ` +
          "(add its public key to JWT_VERIFY_KEYS to accept them, or delete the file).",
        { key_file: ignoredFile, kid: keys.kid },
      );
    }
    return;
  }
  const besides = keys.storedKeyBesides;
  if (!besides) return;
  if (besides.kid === keys.kid) {
    log.warn(
      `JWT_SIGNING_KEY is the key also stored in the database (table ${table}); DELETE FROM ${table} to remove that copy.`,
      { kid: besides.kid },
    );
  } else if (besides.accepted) {
    log.warn(
      `JWT_SIGNING_KEY is configured; tokens signed with the key stored in the database are still accepted (its public key is in JWT_VERIFY_KEYS). ` +
        `Once they are no longer needed, remove it from JWT_VERIFY_KEYS and DELETE FROM ${table}: whoever can read that table can sign such tokens.`,
      { stored_kid: besides.kid },
    );
  } else {
    log.warn(
      `JWT_SIGNING_KEY is configured, so tokens signed with the key stored in the database (table ${table}) are refused. ` +
        `To accept them for a while add its public key to JWT_VERIFY_KEYS (see README, Several instances), or DELETE FROM ${table}.`,
      { stored_kid: besides.kid },
    );
  }
}

-- The signing key generated when JWT_SIGNING_KEY is not configured, shared by every instance on this
-- database (server/auth/stored-key.ts). One row: the CHECK is written by hand (Prisma does not model it).
-- The generator also printed CREATE EXTENSION and a DROP and CREATE of items_collection_id_key_idx (its
-- known misreading of the operator class, see schemaDrift in server/migrate.ts): left out, so that no
-- deployment rebuilds that index.

-- CreateTable
CREATE TABLE "signing_keys" (
    "id" SMALLINT NOT NULL,
    "private_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "signing_keys_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "signing_keys_one_row" CHECK ("id" = 1)
);

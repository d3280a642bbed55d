-- Item counts and stored value bytes per collection (GET /collections, SPEC §3.4 and §9.5), kept by
-- statement-level triggers on items instead of counting rows on every call.
--
-- NOTE for whoever edits this file: the driver adapter that applies migrations on a PostgreSQL server
-- (@prisma/adapter-pg 7, executeScript) splits the script at every semicolon character, comments and
-- function bodies included, and runs the pieces one by one, each in its own transaction. Hence: no
-- semicolon in any comment, function bodies written as E'' strings in which \073 stands for a
-- semicolon, and the triggers created together with the backfill in one DO statement, so that they
-- take effect atomically (PGlite and prisma migrate deploy run the script whole, with the same result).

-- CreateTable
CREATE TABLE "collection_stats" (
    "collection_id" UUID NOT NULL,
    "slot" SMALLINT NOT NULL,
    "items" BIGINT NOT NULL DEFAULT 0,
    "bytes" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "collection_stats_pkey" PRIMARY KEY ("collection_id","slot")
);

-- AddForeignKey
ALTER TABLE "collection_stats" ADD CONSTRAINT "collection_stats_collection_id_fkey" FOREIGN KEY ("collection_id") REFERENCES "collections"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Not modelled by Prisma (written by hand, the drift test compares tables only):
--
-- collection_stats_add(c, items, bytes) adds one statement's change to one slot of collection c. It
-- takes the first slot that no other transaction holds (FOR UPDATE SKIP LOCKED, this transaction's own
-- slots are not skipped), so a writer does not wait here for another writer of the same collection.
-- Only when every slot is held (or none exists yet) does it add one: the first number, counting from
-- the backend's pid % 64, that no committed slot has and no other transaction is adding (an advisory
-- lock per collection and number, tried without waiting and held to the end of the transaction), so
-- that writers adding slots at the same time choose different ones. With 64 slots held it waits.
-- A collection that no longer exists (its items deleted by the cascade of its own deletion) is skipped.
-- A change of nothing (an update that keeps the value's size) touches no row. (PL/pgSQL rather than
-- SQL so that the statement's plan is kept for the session instead of being made on every call.)
CREATE FUNCTION "collection_stats_add"(c UUID, d_items BIGINT, d_bytes BIGINT) RETURNS void
LANGUAGE plpgsql AS E'
BEGIN
  WITH free AS (
    SELECT s.slot FROM "collection_stats" s
     WHERE s.collection_id = c AND (d_items <> 0 OR d_bytes <> 0)
     ORDER BY s.slot LIMIT 1
       FOR UPDATE SKIP LOCKED
  ), bumped AS (
    UPDATE "collection_stats" s SET items = s.items + d_items, bytes = s.bytes + d_bytes
      FROM free WHERE s.collection_id = c AND s.slot = free.slot
    RETURNING 1
  )
  INSERT INTO "collection_stats" AS s (collection_id, slot, items, bytes)
  SELECT c,
         coalesce((SELECT o.n FROM (SELECT n FROM generate_series(0, 63) n
                                     WHERE NOT EXISTS (SELECT 1 FROM "collection_stats" x WHERE x.collection_id = c AND x.slot = n)
                                     ORDER BY (n - pg_backend_pid() % 64 + 64) % 64 OFFSET 0) o
                    WHERE pg_try_advisory_xact_lock(hashtext(c::text)::bigint * 64 + o.n) LIMIT 1),
                  pg_backend_pid() % 64),
         d_items, d_bytes
   WHERE (d_items <> 0 OR d_bytes <> 0)
     AND NOT EXISTS (SELECT 1 FROM bumped)
     AND EXISTS (SELECT 1 FROM "collections" WHERE id = c)
  ON CONFLICT (collection_id, slot) DO UPDATE SET items = s.items + EXCLUDED.items, bytes = s.bytes + EXCLUDED.bytes\073
END';

-- One call per collection a statement touched, in collection order. Bytes are octet_length(value),
-- which reads the stored size without decompressing the value.
CREATE FUNCTION "items_stats_after_insert"() RETURNS trigger
LANGUAGE plpgsql AS E'
BEGIN
  PERFORM "collection_stats_add"(d.collection_id, d.n, d.b)
     FROM (SELECT collection_id, count(*) AS n, sum(octet_length(value)) AS b
             FROM new_rows GROUP BY collection_id ORDER BY collection_id) d\073
  RETURN NULL\073
END';

CREATE FUNCTION "items_stats_after_update"() RETURNS trigger
LANGUAGE plpgsql AS E'
BEGIN
  PERFORM "collection_stats_add"(d.collection_id, d.n, d.b)
     FROM (SELECT collection_id, sum(n)::bigint AS n, sum(b)::bigint AS b
             FROM (SELECT collection_id, 1 AS n, octet_length(value)::bigint AS b FROM new_rows
                   UNION ALL
                   SELECT collection_id, -1, -octet_length(value)::bigint FROM old_rows) u
            GROUP BY collection_id ORDER BY collection_id) d\073
  RETURN NULL\073
END';

CREATE FUNCTION "items_stats_after_delete"() RETURNS trigger
LANGUAGE plpgsql AS E'
BEGIN
  PERFORM "collection_stats_add"(d.collection_id, -d.n, -d.b)
     FROM (SELECT collection_id, count(*) AS n, sum(octet_length(value)) AS b
             FROM old_rows GROUP BY collection_id ORDER BY collection_id) d\073
  RETURN NULL\073
END';

CREATE FUNCTION "items_stats_after_truncate"() RETURNS trigger
LANGUAGE plpgsql AS E'
BEGIN
  DELETE FROM "collection_stats"\073
  RETURN NULL\073
END';

-- The triggers and the backfill of the items that exist (in slot 0), in one statement: writers are
-- kept out from the lock to the end, so that no item is missed or counted twice.
DO E'
BEGIN
  LOCK TABLE "items" IN SHARE ROW EXCLUSIVE MODE\073
  CREATE TRIGGER "items_stats_insert" AFTER INSERT ON "items"
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "items_stats_after_insert"()\073
  CREATE TRIGGER "items_stats_update" AFTER UPDATE ON "items"
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "items_stats_after_update"()\073
  CREATE TRIGGER "items_stats_delete" AFTER DELETE ON "items"
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "items_stats_after_delete"()\073
  CREATE TRIGGER "items_stats_truncate" AFTER TRUNCATE ON "items"
    FOR EACH STATEMENT EXECUTE FUNCTION "items_stats_after_truncate"()\073
  INSERT INTO "collection_stats" (collection_id, slot, items, bytes)
  SELECT collection_id, 0, count(*), sum(octet_length(value)) FROM "items" GROUP BY collection_id\073
END';

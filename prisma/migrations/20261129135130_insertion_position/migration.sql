-- Insertion order without a collection lock (issue 13): the keyset position of an item is (ins_xid, seq),
-- the id of the transaction that inserted the key, then its sequence number. Items that exist keep
-- ins_xid 0, so their order (by seq) is unchanged and every item written from now on comes after them.

-- AlterTable
ALTER TABLE "items" ADD COLUMN     "ins_xid" BIGINT NOT NULL DEFAULT 0;

-- CreateIndex
CREATE UNIQUE INDEX "items_collection_id_ins_xid_seq_key" ON "items"("collection_id", "ins_xid", "seq");

-- DropIndex
DROP INDEX "items_collection_id_seq_key";

import { Prisma } from "../generated/prisma/client.js";
import type { Sql } from "../db.js";
import { tooManyAffected } from "../errors.js";
import { deleteItemsBatches, filterSql, type ItemFilter } from "./items.js";

// Looking before touching (SPEC §9.5): counts that read no value, and a delete that deletes nothing when
// more items match than the caller allows. Beside the item store (server/services/items.ts), built on its
// filter and its batched delete.

/** How many live items match the filter; the index answers it, no value is read. */
export async function countItems(sql: Sql, collectionId: string, filter: ItemFilter): Promise<number> {
  const [row] = await sql.query<{ count: string }>(
    Prisma.sql`SELECT count(*)::text AS count FROM items WHERE ${filterSql(collectionId, filter)}`,
  );
  return Number(row!.count);
}

/** Failures after which the whole transaction can run again: it was rolled back, nothing of it remains. */
const RETRYABLE = new Set([
  "40P01", // deadlock_detected
  "40001", // serialization_failure (the item store's write-order conflict)
  "25P02", // in_failed_sql_transaction: a statement retried alone after one of the above
]);
const retryable = (e: unknown) => RETRYABLE.has((e as { code?: unknown })?.code as string);

/**
 * Deletes the matching items when at most `max` match, and returns their keys in insertion order; when
 * more match, deletes nothing and throws TOO_MANY_AFFECTED with the count.
 *
 * Exact while others write, because the check is the delete itself: the item store's batched delete
 * runs inside one transaction, and the transaction is rolled back as soon as it has deleted `max + 1`
 * items. What commits is therefore what was checked: at most `max` items, every one that matched when
 * the delete started and still existed (the same set a delete without `max_affected` removes). A count
 * taken first and a delete run after it would disagree whenever a writer commits in between; a count
 * and a delete in one REPEATABLE READ snapshot would fail on every row a writer touched meanwhile. The
 * rolled-back rows stay locked only for the moment it takes to delete `max + 1` of them (batches of at
 * most `max + 1`), and the keys are held until the commit: hence MAX_AFFECTED_LIMIT.
 */
export async function deleteAtMost(
  sql: Sql,
  collectionId: string,
  filter: ItemFilter,
  max: number,
  batchSize: number,
): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sql.transaction(async (tx) => {
        const keys: string[] = [];
        const batches = deleteItemsBatches(tx, collectionId, filter, {
          batchSize: Math.min(batchSize, max + 1),
        });
        for await (const batch of batches) {
          for (const key of batch) keys.push(key);
          if (keys.length > max) {
            // Those still matching besides the ones this transaction deleted: the count when refused.
            throw tooManyAffected(keys.length + (await countItems(tx, collectionId, filter)), max);
          }
        }
        return keys;
      });
    } catch (e) {
      if (attempt < 3 && retryable(e)) continue;
      throw e;
    }
  }
}

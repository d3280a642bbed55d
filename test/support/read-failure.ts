import type { Sql } from "../../server/db.js";

/**
 * Makes the `nth` database read of streamed items fail (a batch of streamItems, or on a PostgreSQL server
 * a COPY of server/services/item-copy.ts) until `restore()`; `reads()` tells how many were made.
 */
export function failNthItemRead(sql: Sql, nth: number): { reads(): number; restore(): void } {
  const original = sql.query;
  const originalCopy = sql.copyOut;
  let reads = 0;
  sql.query = function (statement, options) {
    if (statement.text.includes("ORDER BY items.ins_xid, items.seq") && ++reads === nth)
      return Promise.reject(new Error("injected failure"));
    return original.call(sql, statement, options);
  } as typeof original;
  if (originalCopy)
    sql.copyOut = function (text) {
      if (++reads === nth)
        return (async function* () {
          throw new Error("injected failure");
        })();
      return originalCopy.call(sql, text);
    };
  return {
    reads: () => reads,
    restore() {
      sql.query = original;
      sql.copyOut = originalCopy;
    },
  };
}

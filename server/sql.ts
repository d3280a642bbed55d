import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { PGlite, Transaction } from "@electric-sql/pglite";
import type { Prisma } from "./generated/prisma/client.js";

/**
 * Typed raw SQL run straight on the driver that the Prisma client's adapter also uses (the same pg pool
 * or PGlite instance). The request hot paths (token check, collection lookup, item reads and writes) go
 * through it: each Prisma client call costs ~0.2-0.7 ms more than the same statement on the driver, and
 * a point read makes three (bench/README: point reads). Statements are still built with `Prisma.sql`,
 * so every value is a bound parameter. Result columns are cast in SQL to types both drivers return
 * alike (text, int, bool, timestamptz → Date, json → parsed).
 */
export interface Sql {
  query<T>(statement: Prisma.Sql, options?: StatementOptions): Promise<T[]>;
  /** The number of rows the statement affected. */
  execute(statement: Prisma.Sql, options?: StatementOptions): Promise<number>;
  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * The output of `COPY (…) TO STDOUT` as it arrives (PostgreSQL server only: undefined on the embedded
   * database and inside a transaction), read with backpressure: the database waits while the chunks are
   * not taken. Stopping early closes the connection (a COPY cannot be left half read). COPY takes no
   * parameters: the text must hold only literals checked by its caller.
   */
  copyOut?(text: string): AsyncGenerator<Buffer, void, void>;
}

export interface StatementOptions {
  /**
   * Keep the statement prepared on each connection (PostgreSQL server only): its later runs skip parsing
   * and planning, which cost more than executing the small statements of a point read. Only for statements
   * whose generic plan is as good as a planned one: never for LIKE patterns, whose index use depends on
   * the pattern's value.
   */
  prepare?: boolean;
}

/** Names of prepared statements by text; bounded, so that statements built from many shapes cannot grow it. */
const preparedNames = new Map<string, string>();
const MAX_PREPARED = 200;

function preparedName(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < MAX_PREPARED) {
    name = `collections_${preparedNames.size + 1}`;
    preparedNames.set(text, name);
  }
  return name;
}

type PgQueryable = Pick<pg.PoolClient, "query">;

function pgStatements(client: PgQueryable, prepared: boolean): Omit<Sql, "transaction"> {
  const run = (s: Prisma.Sql, options: StatementOptions | undefined) => {
    const name = prepared && options?.prepare ? preparedName(s.text) : undefined;
    return client.query(name ? { name, text: s.text, values: s.values } : { text: s.text, values: s.values });
  };
  return {
    async query<T>(s: Prisma.Sql, options?: StatementOptions) {
      return unshield((await run(s, options)).rows as T[]);
    },
    async execute(s: Prisma.Sql, options?: StatementOptions) {
      return (await run(s, options)).rowCount ?? 0;
    },
  };
}

/**
 * Removes the U+0001 that `shieldedText` (server/services/items.ts) puts before a key beginning with
 * U+FEFF, so that both drivers return such a key whole (PGlite's decoder would drop the mark). Only the
 * columns that carry keys are looked at: this runs for every row of every stream.
 */
const shieldedColumns = ["key", "item_key"] as const;

function unshield<T>(rows: T[]): T[] {
  for (const row of rows as Record<string, unknown>[]) {
    for (const name of shieldedColumns) {
      const v = row[name];
      if (typeof v === "string" && v.charCodeAt(0) === 1) row[name] = v.slice(1);
    }
  }
  return rows;
}

const nested = (): never => {
  throw new Error("Nested transactions are not supported");
};

/**
 * `prepare: false` ignores StatementOptions.prepare (DB_PREPARED_STATEMENTS=false); `copy: false` leaves
 * copyOut out (a pool on the embedded database's socket: PGlite serves no COPY TO STDOUT there).
 */
export function poolSql(
  pool: pg.Pool,
  { prepare = true, copy = true }: { prepare?: boolean; copy?: boolean } = {},
): Sql {
  const sql: Sql = {
    ...pgStatements(pool, prepare),
    async *copyOut(text: string): AsyncGenerator<Buffer, void, void> {
      const client = await pool.connect();
      let ended = false;
      let failure: Error | undefined;
      try {
        yield* client.query(copyTo(text)) as AsyncIterable<Buffer>;
        ended = true;
      } catch (e) {
        failure = e as Error;
        throw e;
      } finally {
        // Not read to its end (failed, or the reader stopped): the connection must not be handed out again.
        client.release(ended ? undefined : (failure ?? new Error("COPY not read to its end")));
      }
    },
    async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        const result = await work({ ...pgStatements(client, prepare), transaction: nested });
        await client.query("COMMIT");
        return result;
      } catch (e) {
        await client.query("ROLLBACK").catch((rollbackError: Error) => {
          broken = rollbackError; // the connection is unusable: the pool must not hand it out again
        });
        throw e;
      } finally {
        client.release(broken);
      }
    },
  };
  if (!copy) delete sql.copyOut;
  return sql;
}

function pgliteStatements(db: Pick<PGlite | Transaction, "query">): Omit<Sql, "transaction"> {
  return {
    async query<T>(s: Prisma.Sql) {
      return unshield((await db.query<T>(s.text, s.values)).rows);
    },
    async execute(s: Prisma.Sql) {
      return (await db.query(s.text, s.values)).affectedRows ?? 0;
    },
  };
}

/** PGlite runs one statement or transaction at a time; a transaction holds it until it ends. */
export function pgliteSql(db: PGlite): Sql {
  return {
    ...pgliteStatements(db),
    transaction: (work) => db.transaction((tx) => work({ ...pgliteStatements(tx), transaction: nested })),
  };
}

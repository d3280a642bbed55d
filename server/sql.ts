import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import {
  parse,
  protocol,
  type messages,
  type PGlite,
  type Results,
  type Transaction,
} from "@electric-sql/pglite";
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
   * Keep the statement prepared on each connection (PostgreSQL server), or on the PGlite session
   * (embedded): its later runs skip parsing and planning, which cost more than executing the small
   * statements of a point read. Only for statements whose generic plan is as good as a planned one: never
   * for LIKE patterns, whose index use depends on the pattern's value.
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

/**
 * A statement kept prepared on the PGlite session: its parameter types and the row description that
 * each run's Bind/Execute would otherwise ask for again. PGlite's own `query` parses, describes and
 * plans every statement on every run (six protocol calls); the token check of a point read cost 2.3 ms
 * that way, against 0.3 ms prepared.
 */
interface LiteStatement {
  name: string;
  paramTypes: number[];
  description: messages.RowDescriptionMessage | undefined;
}

/** Prepared statements by PGlite session (the admin CLI's socket sessions share it, so the names are ours alone). */
const liteStatements = new WeakMap<PGlite, Map<string, LiteStatement>>();

function concatMessages(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Bounded like preparedNames, so that statements built from many shapes cannot grow the session. */
function mayPrepare(db: PGlite, text: string): boolean {
  const known = liteStatements.get(db);
  return !known || known.size < MAX_PREPARED || known.has(text);
}

/** Runs the prepared form of `s`; the caller holds PGlite's query lock. */
async function runPrepared(db: PGlite, s: Prisma.Sql): Promise<Results> {
  // execProtocolStream, as PGlite's own query: execProtocol would hand the answer to whatever raw-data
  // callback the socket server's last call left installed, and return no messages.
  const { serialize } = protocol;
  let known = liteStatements.get(db);
  if (!known) liteStatements.set(db, (known = new Map()));
  let statement = known.get(s.text);
  if (!statement) {
    const name = `lite_${known.size + 1}`;
    const described = await db.execProtocolStream(
      concatMessages([
        serialize.parse({ name, text: s.text }),
        serialize.describe({ type: "S", name }),
        serialize.sync(),
      ]),
      { syncToFs: false },
    );
    statement = {
      name,
      paramTypes: parse.parseDescribeStatementResults(described),
      description: described.find((m): m is messages.RowDescriptionMessage => m.name === "rowDescription"),
    };
    known.set(s.text, statement);
  }
  const { paramTypes } = statement;
  const values = s.values.map((v, i) => {
    if (v === null || v === undefined) return null;
    const serializer = db.serializers[paramTypes[i]!];
    return serializer ? (serializer(v) as string) : String(v as string);
  });
  const answered = await db.execProtocolStream(
    concatMessages([
      serialize.bind({ statement: statement.name, values }),
      serialize.execute({}),
      serialize.sync(),
    ]),
    { syncToFs: false },
  );
  return parse.parseResults(
    statement.description ? [statement.description, ...answered] : answered,
    db.parsers,
  )[0]!;
}

/**
 * Statements with StatementOptions.prepare run through runPrepared, under PGlite's locks as its own query
 * takes them; `inTransaction` is set inside pgliteSql's transaction, which already holds the transaction lock.
 */
function pgliteStatements(
  db: PGlite,
  runner: Pick<PGlite | Transaction, "query">,
  inTransaction: boolean,
): Omit<Sql, "transaction"> {
  const run = async <T>(s: Prisma.Sql, options: StatementOptions | undefined): Promise<Results<T>> => {
    if (!options?.prepare || !mayPrepare(db, s.text)) return runner.query<T>(s.text, s.values);
    const exclusive = () => db._runExclusiveQuery(() => runPrepared(db, s));
    const result = inTransaction ? await exclusive() : await db._runExclusiveTransaction(exclusive);
    if (!inTransaction) await db.syncToFs();
    return result as Results<T>;
  };
  return {
    async query<T>(s: Prisma.Sql, options?: StatementOptions) {
      return unshield((await run<T>(s, options)).rows);
    },
    async execute(s: Prisma.Sql, options?: StatementOptions) {
      return (await run(s, options)).affectedRows ?? 0;
    },
  };
}

/** PGlite runs one statement or transaction at a time; a transaction holds it until it ends. */
export function pgliteSql(db: PGlite): Sql {
  return {
    ...pgliteStatements(db, db, false),
    transaction: (work) =>
      db.transaction((tx) => work({ ...pgliteStatements(db, tx, true), transaction: nested })),
  };
}

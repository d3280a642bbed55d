import { describe, expect, it } from "vitest";
import { Prisma } from "../../server/generated/prisma/client.js";
import { openDatabase } from "../../server/db.js";
import { testEnv, usingPostgresServer } from "../support/env.js";

// server/sql.ts keeps the statements marked `prepare` prepared on each connection of the PostgreSQL
// server, unless DB_PREPARED_STATEMENTS=false (a pooler that cannot keep them).

const preparedHere = Prisma.sql`SELECT count(*)::int AS n FROM pg_prepared_statements`;

describe.runIf(usingPostgresServer())("prepared statements", () => {
  for (const enabled of [true, false]) {
    it(`DB_PREPARED_STATEMENTS=${enabled}: ${enabled ? "kept" : "none"} on the connection`, async () => {
      const db = await openDatabase({ ...testEnv(), DB_POOL_SIZE: 1, DB_PREPARED_STATEMENTS: enabled });
      try {
        const before = (await db.sql.query<{ n: number }>(preparedHere))[0]!.n;
        const rows = await db.sql.query<{ answer: number }>(Prisma.sql`SELECT ${41}::int + 1 AS answer`, {
          prepare: true,
        });
        expect(rows).toEqual([{ answer: 42 }]);
        await db.sql.query(Prisma.sql`SELECT ${41}::int + 1 AS answer`, { prepare: true });
        const after = (await db.sql.query<{ n: number }>(preparedHere))[0]!.n;
        expect(after - before).toBe(enabled ? 1 : 0);
      } finally {
        await db.close();
      }
    });
  }
});

import { createReadStream, createWriteStream, rmSync, statSync } from "node:fs";
import { Prisma } from "../generated/prisma/client.js";
import { AppError, invalidParameter, notFound } from "../errors.js";
import { exportPieces } from "../services/item-export.js";
import { runImport } from "../services/item-import.js";
import { streamItems } from "../services/items.js";
import { patternProblem } from "../services/patterns.js";
import { findProject } from "../services/directory.js";
import type { Flags } from "./args.js";
import { startProgress } from "./progress.js";
import type { Session } from "./session.js";

// collection:export and collection:import (SPEC §9.4) on the admin CLI's storage: the database itself,
// or the running server's through its socket (session.ts); either way the items stream in batches
// (streamItems) and the lines are written in batches (runImport, shared with POST …/import), so that
// neither holds a collection.

async function findCollection(
  s: Session,
  project: string,
  name: string,
): Promise<{ id: string; name: string }> {
  const p = await findProject(s.db.prisma, project);
  const c = await s.db.prisma.collection.findFirst({
    where: { projectId: p.id, name },
    select: { id: true, name: true },
  });
  if (!c) throw notFound(`No collection '${name}' in project '${p.name}'`);
  return c;
}

/** Items counted by the collection's counters (collection_stats): the export's total for its progress bar. */
async function itemTotal(s: Session, collectionId: string): Promise<number> {
  const [row] = await s.db.sql.query<{ n: number }>(Prisma.sql`
    SELECT coalesce(sum(items), 0)::float8 AS n FROM collection_stats WHERE collection_id = ${collectionId}::uuid`);
  return row?.n ?? 0;
}

/**
 * Text written to a stream in pieces: small ones gathered into writes of about 64 KiB, a large value
 * written on its own (no copy), waiting for 'drain' when the stream is full. Rejects once the stream fails
 * (a reader that went away: EPIPE).
 */
class Output {
  private pending: string[] = [];
  private pendingLength = 0;
  private failure: Error | undefined;

  constructor(private readonly out: NodeJS.WritableStream) {
    out.on("error", (e: Error) => (this.failure ??= e));
  }

  async push(text: string): Promise<void> {
    if (text.length >= 64 * 1024) {
      await this.flush();
      return this.write(text);
    }
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = this.pending.join("");
    this.pending = [];
    this.pendingLength = 0;
    await this.write(chunk);
  }

  private async write(chunk: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.out.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.out.off("drain", done);
        this.out.off("error", failed);
        resolve();
      };
      const failed = (e: Error) => {
        this.out.off("drain", done);
        reject(e);
      };
      this.out.on("drain", done);
      this.out.once("error", failed);
    });
  }
}

/** collection:export: the NDJSON lines on stdout, or in --out (then `{exported, file}` on stdout). */
export async function exportCollection(
  f: Flags,
  s: Session,
): Promise<{ exported: number; file: string | null }> {
  const collection = await findCollection(s, f.project!, f.name!);
  const pattern = f.key;
  if (pattern !== undefined) {
    const problem = patternProblem(pattern, s.env.MAX_PATTERN_LENGTH);
    if (problem) throw invalidParameter("key", problem);
  }
  const total = pattern === undefined ? await itemTotal(s, collection.id) : undefined;
  const file = f.out ?? null;
  const stream = file ? createWriteStream(file) : process.stdout;
  const out = new Output(stream);
  const progress = await startProgress({ label: "exporting", unit: "items", total });
  let exported = 0;
  try {
    const batches = streamItems(s.db.sql, collection.id, pattern === undefined ? {} : { pattern }, {
      batchSize: s.env.STREAM_BATCH_SIZE,
      batchBytes: s.env.STREAM_BATCH_BYTES,
    });
    for await (const batch of batches) {
      for (const row of batch) {
        const [start, value, end] = exportPieces(row);
        await out.push(start);
        await out.push(value);
        await out.push(end + "\n");
      }
      exported += batch.length;
      await out.flush();
      progress.update(exported);
    }
    await out.flush();
    if (file) {
      await new Promise<void>((resolve, reject) => {
        stream.once("error", reject);
        stream.end(() => resolve());
      });
    }
  } catch (e) {
    if (file) {
      (stream as ReturnType<typeof createWriteStream>).destroy();
      rmSync(file, { force: true }); // no half export under the name given
    }
    if ((e as NodeJS.ErrnoException).code === "EPIPE")
      throw new AppError("INTERNAL_SERVER_ERROR", `the reader of stdout went away after ${exported} items`);
    throw e;
  } finally {
    progress.stop();
  }
  return { exported, file };
}

/** collection:import: the NDJSON of --file (or stdin) into the collection; `{upserted, created, skipped, errors, error_count}`. */
export async function importCollection(f: Flags, s: Session) {
  const collection = await findCollection(s, f.project!, f.name!);
  const input = f.file !== undefined ? createReadStream(f.file) : process.stdin;
  const total = f.file !== undefined ? statSync(f.file).size : undefined;
  const progress = await startProgress({ label: "importing", unit: "bytes", total });
  let bytes = 0;
  let lines = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      yield chunk;
    }
  }
  let result;
  try {
    result = await runImport({ sql: s.db.sql, env: s.env, collectionId: collection.id }, counted(), {
      mode: f.mode === "create-only" ? "create-only" : "upsert",
      atomic: f.atomic !== undefined,
      onProgress: (n) => progress.update((lines = n), bytes),
    });
    progress.update(result.upserted + result.skipped + result.error_count || lines, bytes);
  } finally {
    progress.stop();
  }
  const { status, ...document } = result;
  if (status === 422) {
    // Nothing was written because of the refused lines: the summary still goes to stdout, and the exit
    // code says the import failed.
    process.stdout.write(JSON.stringify(document) + "\n");
    throw new AppError(
      "UNPROCESSABLE_CONTENT",
      `nothing was imported: ${document.error_count} line(s) refused${f.atomic !== undefined ? " (--atomic: all or nothing)" : ""}; see "errors"`,
    );
  }
  return document;
}

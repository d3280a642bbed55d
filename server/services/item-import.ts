import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, rmSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isUtf8 } from "node:buffer";
import { LISTED_ERRORS, type ImportMode } from "../../contracts/items/import-items.js";
import type { Sql } from "../db.js";
import type { Env } from "../env.js";
import { AppError, conflict } from "../errors.js";
import { resolveCollection } from "./access.js";
import { validateUpsertItems, type CollectionRef, type ItemCaller } from "./item-operations.js";
import { UPSERT_CHUNK, upsertItems, upsertItemsIn, type NewItem, type UpsertOutcome } from "./items.js";
import { JsonTextError, parseJsonBody } from "./json-text.js";

// A bulk import (SPEC §9.4): NDJSON of {"key", "value"} read line by line as it arrives (never the whole
// body), each line checked with the rules of an upsert (validateUpsertItems) and its value kept as the
// exact text written (json-text.ts), the valid lines written in batches. Shared by
// POST /collections/{name}/import (server/http/items-import.ts) and the admin CLI's collection:import.

export interface ImportOptions {
  mode: ImportMode;
  /** All or nothing, in one transaction (at most IMPORT_ATOMIC_MAX_ITEMS lines). */
  atomic: boolean;
  /** Called after each batch with the lines read so far (the CLI's progress). */
  onProgress?(lines: number): void;
}

export interface ImportResult {
  /** 201 when a key was created, 200 when something was written or skipped (or the body had no line), 422 when nothing was written because of bad lines. */
  status: 200 | 201 | 422;
  upserted: number;
  created: number;
  skipped: number;
  errors: { line: number; message: string }[];
  error_count: number;
}

/** Where the lines go: the database, its limits and the collection (already resolved and authorized). */
export interface ImportTarget {
  sql: Sql;
  env: Env;
  collectionId: string;
  /** Items written, for /metrics. */
  written?(n: number): void;
}

/**
 * Lines written per statement; a batch also ends once its values reach STREAM_BATCH_BYTES characters
 * (at least one line), so that 1 MB values are written in the memory of small ones (SPEC §6).
 */
const BATCH_LINES = UPSERT_CHUNK;

/**
 * The longest line read (bytes): a value of MAX_VALUE_CHARS characters takes at most 3 bytes each in
 * UTF-8, a key of MAX_KEY_LENGTH at most 6 (`\uXXXX`), and 64 KiB are left for the other members (an
 * export's timestamps and version) and whitespace. A longer line is refused without being held.
 */
export const maxLineBytes = (env: Pick<Env, "MAX_VALUE_CHARS" | "MAX_KEY_LENGTH">) =>
  3 * env.MAX_VALUE_CHARS + 6 * env.MAX_KEY_LENGTH + 64 * 1024;

type Line = { line: number; text: string } | { line: number; problem: string };

/**
 * The lines of a byte stream: split at `\n` (a `\r` before it is JSON whitespace), numbered from 1, a
 * last line without `\n` included, a UTF-8 byte-order mark at the start dropped. A line longer than
 * `maxBytes` or not valid UTF-8 comes as a problem; the stream is read as it comes (backpressure: the
 * next chunk is read when the consumer asks for more), holding at most one line.
 */
export async function* ndjsonLines(body: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Line> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  let line = 1;
  const finish = (last: Buffer | undefined): Line | undefined => {
    const n = line++;
    if (tooLong) {
      tooLong = false;
      return {
        line: n,
        problem: `the line is longer than ${maxBytes} bytes (3 × MAX_VALUE_CHARS + 6 × MAX_KEY_LENGTH + 64 KiB)`,
      };
    }
    let bytes =
      pending.length === 0 ? (last ?? Buffer.alloc(0)) : Buffer.concat(last ? [...pending, last] : pending);
    pending = [];
    pendingBytes = 0;
    if (n === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    if (!isUtf8(bytes)) return { line: n, problem: "the line is not valid UTF-8" };
    return { line: n, text: bytes.toString("utf8") };
  };
  for await (const piece of body) {
    const chunk = Buffer.isBuffer(piece)
      ? piece
      : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      if (!tooLong) {
        pendingBytes += end - start;
        if (pendingBytes > maxBytes) {
          tooLong = true;
          pending = [];
          pendingBytes = 0;
        }
      }
      if (nl < 0) {
        if (!tooLong && end > start) pending.push(chunk.subarray(start, end));
        break;
      }
      yield finish(tooLong ? undefined : chunk.subarray(start, end))!;
      start = nl + 1;
    }
  }
  if (pending.length > 0 || tooLong) yield finish(undefined)!;
}

/** A line checked: the item to write, or why not. Blank lines are null. */
function checkLine(env: Env, text: string): NewItem | string | null {
  if (/^[ \t\r]*$/.test(text)) return null;
  let parsed;
  try {
    parsed = parseJsonBody(text, env.MAX_JSON_DEPTH);
  } catch (e) {
    if (!(e instanceof JsonTextError)) throw e;
    return e.kind === "depth"
      ? `the line is nested more than ${env.MAX_JSON_DEPTH} levels deep (MAX_JSON_DEPTH)`
      : `the line is not valid JSON: ${e.message.replace(/^Request body is not valid JSON: /, "")}`;
  }
  const { value: line } = parsed;
  if (line === null || typeof line !== "object" || Array.isArray(line))
    return 'a line must be a JSON object with a "key" and a "value"';
  // Only key and value: the other members (an export's created, updated, version…) are ignored.
  const { key, value } = line as { key?: unknown; value?: unknown };
  const valueText = value === undefined ? undefined : parsed.rawText(line, "value");
  const { valid, errors } = validateUpsertItems(env, { items: [{ key, value }], valueText: () => valueText });
  return valid[0]?.item ?? errors[0]!.message;
}

/** The items of one batch, each with its line. */
interface Batch {
  items: NewItem[];
  chars: number;
}

/** Totals of an import, and its listed errors. */
class Tally {
  upserted = 0;
  created = 0;
  skipped = 0;
  lines = 0;
  errorCount = 0;
  readonly errors: { line: number; message: string }[] = [];

  refuse(line: number, message: string): void {
    this.errorCount++;
    if (this.errors.length < LISTED_ERRORS) this.errors.push({ line, message });
  }

  /** Counts a batch written: `outcome` of the `unique` items, `dropped` lines superseded (upsert) or skipped (create-only) before. */
  add(outcome: UpsertOutcome, mode: ImportMode, dropped: number): void {
    this.created += outcome.created;
    if (mode === "create-only") {
      this.upserted += outcome.written;
      this.skipped += outcome.failed.length + dropped;
    } else this.upserted += outcome.written + dropped;
  }

  result(): ImportResult {
    const wrote = this.upserted + this.skipped > 0;
    return {
      status: this.created > 0 ? 201 : wrote || this.errorCount === 0 ? 200 : 422,
      upserted: this.upserted,
      created: this.created,
      skipped: this.skipped,
      errors: this.errors,
      error_count: this.errorCount,
    };
  }
}

/**
 * One item per key, in line order: upsert keeps each key's last line (as writing the lines one by one
 * would end), create-only its first (the later ones would find it existing). `dropped`: the other lines.
 */
function oneItemPerKey(items: NewItem[], mode: ImportMode): { unique: NewItem[]; dropped: number } {
  const at = new Map<string, number>();
  const unique: NewItem[] = [];
  for (const item of items) {
    const seen = at.get(item.key);
    if (seen === undefined) {
      at.set(item.key, unique.length);
      unique.push(item);
    } else if (mode === "upsert") unique[seen] = item; // written where the key first came, with its last value
  }
  return { unique, dropped: items.length - unique.length };
}

/** A write of one batch: its own statement, or a statement of the atomic import's transaction. */
type Writer = (items: NewItem[]) => Promise<UpsertOutcome>;

async function writeBatch(write: Writer, batch: Batch, mode: ImportMode, tally: Tally): Promise<void> {
  if (batch.items.length === 0) return;
  const { unique, dropped } = oneItemPerKey(batch.items, mode);
  const items = mode === "create-only" ? unique.map((it) => ({ ...it, ifAbsent: true })) : unique;
  tally.add(await write(items), mode, dropped);
  batch.items = [];
  batch.chars = 0;
}

/** Reads every line of `body`, calling `item` for each valid one; refusals go to the tally. */
async function readLines(
  env: Env,
  body: AsyncIterable<Uint8Array>,
  tally: Tally,
  item: (item: NewItem) => Promise<void> | void,
  onLine?: () => void,
): Promise<void> {
  for await (const line of ndjsonLines(body, maxLineBytes(env))) {
    if ("problem" in line) {
      tally.lines++;
      tally.refuse(line.line, line.problem);
      onLine?.();
      continue;
    }
    const checked = checkLine(env, line.text);
    if (checked === null) continue;
    tally.lines++;
    if (typeof checked === "string") tally.refuse(line.line, checked);
    else await item(checked);
    onLine?.();
  }
}

/**
 * POST /collections/{name}/import: the collection is resolved for writing (403/404/409) before anything
 * of the body is read (`body` is called after), then the lines are imported.
 */
export async function importItems(
  caller: ItemCaller,
  ref: CollectionRef,
  body: () => AsyncIterable<Uint8Array>,
  options: ImportOptions,
): Promise<ImportResult> {
  const { sql, env, principal, counters } = caller;
  const collection = await resolveCollection(sql, principal, ref.name, ref.project_id, "write");
  return runImport({ sql, env, collectionId: collection.id, written: counters?.written }, body(), options);
}

/** Imports the NDJSON `body` into the target collection (see ImportOptions). */
export async function runImport(
  target: ImportTarget,
  body: AsyncIterable<Uint8Array>,
  options: ImportOptions,
): Promise<ImportResult> {
  return options.atomic ? importAtomically(target, body, options) : importInBatches(target, body, options);
}

/** Each batch its own statement, as it fills: what was written before a failure stays written. */
async function importInBatches(
  target: ImportTarget,
  body: AsyncIterable<Uint8Array>,
  options: ImportOptions,
): Promise<ImportResult> {
  const { sql, env, collectionId } = target;
  const tally = new Tally();
  const batch: Batch = { items: [], chars: 0 };
  const write: Writer = async (items) => {
    const outcome = await upsertItems(sql, collectionId, items);
    target.written?.(outcome.written);
    return outcome;
  };
  const flush = async () => {
    await writeBatch(write, batch, options.mode, tally);
    options.onProgress?.(tally.lines);
  };
  await readLines(env, body, tally, async (item) => {
    batch.items.push(item);
    batch.chars += item.valueJson.length;
    if (batch.items.length >= BATCH_LINES || batch.chars >= env.STREAM_BATCH_BYTES) await flush();
  });
  await flush();
  return tally.result();
}

/**
 * All or nothing. The body is read and checked to its end first, the valid lines spooled to a temporary
 * file (so that memory stays one line, and no transaction waits on the client's upload); with any bad
 * line, or more than IMPORT_ATOMIC_MAX_ITEMS lines (413, as soon as that is known), nothing is written.
 * Otherwise one transaction writes the spooled lines in batches, with one timestamp.
 */
async function importAtomically(
  target: ImportTarget,
  body: AsyncIterable<Uint8Array>,
  options: ImportOptions,
): Promise<ImportResult> {
  const { sql, env, collectionId } = target;
  const max = env.IMPORT_ATOMIC_MAX_ITEMS;
  const tally = new Tally();
  const path = join(tmpdir(), `collections-import-${randomUUID()}.spool`);
  let spool: WriteStream | undefined;
  try {
    spool = createWriteStream(path, { flags: "wx", mode: 0o600 });
    const out = spool;
    const opened = new Promise<void>((resolve, reject) => {
      out.once("open", () => resolve());
      out.once("error", reject);
    });
    await opened;
    await readLines(
      env,
      body,
      tally,
      async (item) => {
        // The spool's lines: the key as JSON, a tab, the value's JSON text (minified: no line break).
        if (!out.write(`${JSON.stringify(item.key)}\t${item.valueJson}\n`))
          await new Promise<void>((resolve, reject) => {
            out.once("drain", resolve);
            out.once("error", reject);
          });
      },
      () => {
        if (tally.lines > max) {
          throw new AppError(
            "PAYLOAD_TOO_LARGE",
            `An atomic import takes at most ${max} lines (IMPORT_ATOMIC_MAX_ITEMS); this one has more, and nothing was written. Import it without atomic=true, or in parts`,
          );
        }
        if (tally.lines % BATCH_LINES === 0) options.onProgress?.(tally.lines);
      },
    );
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (tally.errorCount > 0) return tally.result();

    let written = 0;
    try {
      await sql.transaction(async (tx) => {
        let timestamp: string | undefined;
        const write: Writer = async (items) => {
          const outcome = await upsertItemsIn(tx, collectionId, items, { timestamp });
          timestamp ??= outcome.timestamp;
          written += outcome.written;
          return outcome;
        };
        const batch: Batch = { items: [], chars: 0 };
        const spooled = new Tally(); // lines are counted by the first pass
        for await (const line of ndjsonLines(createReadStream(path), Infinity)) {
          if ("problem" in line) throw new Error(`import spool: ${line.problem}`);
          const tab = line.text.indexOf("\t");
          batch.items.push({
            key: JSON.parse(line.text.slice(0, tab)) as string,
            valueJson: line.text.slice(tab + 1),
          });
          batch.chars += line.text.length;
          if (batch.items.length >= BATCH_LINES || batch.chars >= env.STREAM_BATCH_BYTES) {
            await writeBatch(write, batch, options.mode, spooled);
            options.onProgress?.(spooled.upserted + spooled.skipped);
          }
        }
        await writeBatch(write, batch, options.mode, spooled);
        Object.assign(tally, {
          upserted: spooled.upserted,
          created: spooled.created,
          skipped: spooled.skipped,
        });
      });
    } catch (e) {
      if ((e as { code?: unknown })?.code === "40001" || (e as { code?: unknown })?.code === "40P01")
        throw conflict(
          "The atomic import met a concurrent write of the same keys and was rolled back (nothing was written); send it again",
        );
      throw e;
    }
    target.written?.(written);
    return tally.result();
  } finally {
    spool?.destroy();
    rmSync(path, { force: true });
  }
}

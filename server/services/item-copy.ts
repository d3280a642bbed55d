import { Prisma } from "../generated/prisma/client.js";
import type { Sql } from "../db.js";
import type { ItemPosition } from "./cursor.js";
import { lastPositionSql, runningXidsSql, type StreamEnd } from "./items.js";
import { minifyJson } from "./json-text.js";

// A whole collection read through COPY … TO STDOUT (FORMAT binary), the cheapest way PostgreSQL hands out
// rows: no text formatting of timestamps, no per-row parse in the driver. The rows' bytes are framed into
// the §3 item JSON here (`{"key","value","created","updated","version"}`, byte for byte what
// itemJsonPieces writes), a batch at a time, with the keyset, bound and running-transaction rule of
// streamItems (server/services/items.ts). PostgreSQL server only (Sql.copyOut).

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
/** Microseconds from 1970 to 2000-01-01, PostgreSQL's epoch for binary timestamps. */
const PG_EPOCH_MS = 946_684_800_000;

const KEY_OPEN = Buffer.from('{"key":"');
const KEY_TO_VALUE = Buffer.from('","value":');
const KEY_JSON_TO_VALUE = Buffer.from(',"value":');
const OPEN_KEY_JSON = Buffer.from('{"key":');
const TO_CREATED = Buffer.from(',"created":"');
const TO_UPDATED = Buffer.from('","updated":"');
const TO_VERSION = Buffer.from('","version":');
const CLOSE = Buffer.from("}");

/** Whether a key's UTF-8 bytes need no escape in a JSON string (no quote, backslash or control byte). */
function plainKey(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x20 || b === 0x22 || b === 0x5c) return false;
  }
  return true;
}

/** Formats binary timestamps (µs since 2000) as ISO UTC with microseconds; rows of one write share theirs. */
export class Timestamps {
  private lastMicros = NaN;
  private lastText = Buffer.alloc(0);

  /** The timestamp whose 8 bytes are at `at` (read as two halves: no BigInt per row). */
  at(data: Buffer, at: number): Buffer {
    return this.text(data.readInt32BE(at) * 2 ** 32 + data.readUInt32BE(at + 4));
  }

  text(micros: number): Buffer {
    if (micros === this.lastMicros) return this.lastText;
    const ms = Math.floor(micros / 1000);
    const fraction = micros - ms * 1000;
    const iso = new Date(ms + PG_EPOCH_MS).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
    this.lastMicros = micros;
    this.lastText = Buffer.from(`${iso.slice(0, 23)}${String(fraction).padStart(3, "0")}Z`, "latin1");
    return this.lastText;
  }
}

/**
 * When a row spans chunks, the next chunk is joined to it only as far as the row needs (its length is
 * known once its value's length has arrived), plus this much for the short fields after the value.
 */
const JOIN_SLACK = 256;
/** Framed pieces averaging at least this many bytes (large values) are handed on as they are, not joined. */
const UNJOINED_PIECE_BYTES = 4096;
/** The COPY header: 11 bytes of signature, flags (4) and the header extension's length (4). */
const HEADER_BYTES = 19;

/**
 * The rows of one binary COPY of (key, value, created, updated, version::text, ins_xid, seq), fed chunk
 * by chunk, framed as the items' JSON. Throws on bytes that are not such a COPY (a guard: never expected).
 *
 * What it costs is what a 1M-item stream's CPU goes to, so it copies and allocates little: a row that
 * arrives whole in a chunk is framed from subarrays of that chunk (key, value and version; timestamps and
 * the position are read in place); a row split over chunks waits, without copying, until the chunks hold
 * its length, and is then joined once, with just the head of the last chunk that it needs.
 */
export class ItemFramer {
  /** The start of a row (or of the header) not complete yet, as it arrived: chunks not joined. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Bytes the incomplete row needs at least, from its start (exact once its value's length is known). */
  private need = 0;
  private started = false;
  /** Framed pieces not yet taken, and their bytes. */
  private pieces: Buffer[] = [];
  bytes = 0;
  /** Items framed and not yet taken. */
  count = 0;
  /** Rows of this COPY so far. */
  rows = 0;
  /** True once the COPY's trailer was read. */
  ended = false;
  /** The last row's bytes and where its ins_xid field's 8 bytes are (seq's follow 12 bytes later). */
  private lastData: Buffer | null = null;
  private lastAt = 0;

  constructor(
    private readonly framing: { separator: Buffer; after: Buffer; oneLine: boolean },
    private readonly stamps: Timestamps,
  ) {}

  /** The position of the last row framed, or null before any. */
  get last(): ItemPosition | null {
    const data = this.lastData;
    if (data === null) return null;
    return {
      xid: data.readBigInt64BE(this.lastAt).toString(),
      seq: data.readBigInt64BE(this.lastAt + 12).toString(),
    };
  }

  push(chunk: Buffer): void {
    if (this.ended) return;
    if (this.partsBytes === 0) return this.frameFrom(chunk, 0);
    this.parts.push(chunk);
    this.partsBytes += chunk.length;
    const before = this.partsBytes - chunk.length; // the row's bytes in earlier chunks
    let need = this.need;
    for (;;) {
      if (this.partsBytes < need) {
        this.need = need;
        return;
      }
      const head = Math.min(chunk.length, need - before + JOIN_SLACK);
      const joined = Buffer.concat([...this.parts.slice(0, -1), chunk.subarray(0, head)], before + head);
      const end = this.unitEnd(joined, 0);
      if (end >= 0) {
        this.parts = [];
        this.partsBytes = 0;
        this.need = 0;
        this.consume(joined, 0, end);
        return this.frameFrom(chunk, end - before);
      }
      need = -end; // more than `joined` holds: a length further on arrived with it
    }
  }

  /** Frames the rows of `data` from `at`; keeps an incomplete last one (a subarray: no copy) in parts. */
  private frameFrom(data: Buffer, at: number): void {
    while (!this.ended) {
      const end = this.unitEnd(data, at);
      if (end < 0) {
        if (at < data.length) {
          this.parts = [data.subarray(at)];
          this.partsBytes = data.length - at;
          this.need = -end - at;
        }
        return;
      }
      this.consume(data, at, end);
      at = end;
    }
  }

  /**
   * Where the unit at `at` ends (the header before the first row, then a row or the trailer), or, when
   * it has not fully arrived, minus the least end it can have (always beyond data.length).
   */
  private unitEnd(data: Buffer, at: number): number {
    if (!this.started) {
      if (at + HEADER_BYTES > data.length) return -(at + HEADER_BYTES);
      const end = at + HEADER_BYTES + data.readInt32BE(at + 15);
      return end > data.length ? -end : end;
    }
    if (at + 2 > data.length) return -(at + 2);
    const fields = data.readInt16BE(at);
    if (fields === -1) return at + 2;
    if (fields !== 7) throw new Error(`binary COPY row of ${fields} fields`);
    let p = at + 2;
    for (let f = 0; f < 7; f++) {
      if (p + 4 > data.length) return -(p + 4);
      const length = data.readInt32BE(p);
      if (length < 0) throw new Error("NULL in a binary COPY of items");
      p += 4 + length;
      if (p > data.length) return -p;
    }
    return p;
  }

  private consume(data: Buffer, at: number, end: number): void {
    if (!this.started) {
      if (!data.subarray(at, at + SIGNATURE.length).equals(SIGNATURE)) throw new Error("not a binary COPY");
      this.started = true;
    } else if (end - at === 2)
      this.ended = true; // the trailer (-1): a row has 7 fields
    else this.frameRow(data, at + 2);
  }

  private frameRow(data: Buffer, at: number): void {
    const keyEnd = at + 4 + data.readInt32BE(at);
    const key = data.subarray(at + 4, keyEnd);
    const valueEnd = keyEnd + 4 + data.readInt32BE(keyEnd);
    const value = data.subarray(keyEnd + 4, valueEnd);
    const created = valueEnd + 4; // 8 bytes each, after their lengths
    const updated = created + 12;
    const versionEnd = updated + 12 + data.readInt32BE(updated + 8);
    const version = data.subarray(updated + 12, versionEnd);
    const { separator, after } = this.framing;
    const out = this.pieces;
    const before = out.length;
    // Between two items of a piece; between pieces, the writer puts it (writeJsonStream's separator).
    if (this.count > 0 && separator.length > 0) out.push(separator);
    if (plainKey(key)) out.push(KEY_OPEN, key, KEY_TO_VALUE);
    else out.push(OPEN_KEY_JSON, Buffer.from(JSON.stringify(key.toString("utf8"))), KEY_JSON_TO_VALUE);
    // An NDJSON line must not break inside an item (exportPieces: minified, as there).
    const text =
      this.framing.oneLine && value.includes(10) ? Buffer.from(minifyJson(value.toString("utf8"))) : value;
    out.push(text, TO_CREATED, this.stamps.at(data, created));
    out.push(TO_UPDATED, this.stamps.at(data, updated), TO_VERSION, version, CLOSE);
    if (after.length > 0) out.push(after);
    for (let i = before; i < out.length; i++) this.bytes += out[i]!.length;
    this.lastData = data;
    this.lastAt = versionEnd + 4;
    this.count++;
    this.rows++;
  }

  /**
   * The framed items so far, or null when there are none: one buffer (copied out of the COPY's chunks),
   * or, when the pieces are large values, the pieces themselves (written as they are, without a copy).
   */
  take(): { text: Buffer | Buffer[]; count: number } | null {
    if (this.count === 0) return null;
    const unjoined = this.bytes >= UNJOINED_PIECE_BYTES * this.pieces.length;
    const taken = {
      text: unjoined ? this.pieces : Buffer.concat(this.pieces, this.bytes),
      count: this.count,
    };
    this.pieces = [];
    this.bytes = 0;
    this.count = 0;
    return taken;
  }
}

/** A UUID, checked, for a COPY statement (which takes no parameters). */
const uuidLiteral = (id: string) => {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))
    throw new Error("not a UUID");
  return `'${id}'::uuid`;
};
/** A bigint, checked, for a COPY statement. */
const bigintLiteral = (n: string) => {
  if (!/^\d{1,19}$/.test(n)) throw new Error("not a bigint");
  return `${n}::bigint`;
};

export interface CopyStreamOptions {
  /** Items per COPY statement, at most (STREAM_BATCH_SIZE). */
  rows: number;
  /**
   * About how many bytes one COPY statement reads (STREAM_BATCH_BYTES), from the items' average size so
   * far, so that each statement is short whatever the values' size (its rows are framed as they arrive:
   * memory does not depend on it).
   */
  statementBytes: number;
  /** Framed bytes handed on at a time (the memory a stream holds, besides the socket's). */
  pieceBytes: number;
  /** Between two items (a comma in a JSON array). */
  separator: string;
  /** After each item (NDJSON's line break, which also keeps each item on one line). */
  after?: string;
  signal?: AbortSignal;
  /** Told the number of items of each piece handed on (the read counter). */
  onItems?: (n: number) => void;
}

/**
 * Every live item of a collection in insertion order, framed as JSON in pieces of about pieceBytes
 * (each one `[text]`), read with COPY. Like streamItems from the start of a collection without filters
 * or limit: the first statement reads the bound (the last position) and the transactions then running;
 * each COPY then reads the next positions up to the bound, leaving those transactions out. A COPY is
 * read as it arrives, with backpressure (the database waits while the client does), and its rows are
 * framed as they come: memory holds a piece and a row, whatever the sizes. Each COPY reads at most
 * `rows` items and about statementBytes (from the items' average size so far), as streamItems' batches
 * do, so that no statement runs long and each sees the deletes made before it began.
 */
export async function* copyItemTexts(
  sql: Sql,
  collectionId: string,
  options: CopyStreamOptions,
): AsyncGenerator<(Buffer | Buffer[])[], StreamEnd, void> {
  const copyOut = sql.copyOut!.bind(sql);
  let count = 0;
  const framing = {
    separator: Buffer.from(options.separator),
    after: Buffer.from(options.after ?? ""),
    oneLine: (options.after ?? "").includes("\n"),
  };
  const stamps = new Timestamps();
  const [head] = await sql.query<{ bound: string | null; running: string }>(Prisma.sql`
    SELECT ${lastPositionSql(collectionId)} AS bound, ${runningXidsSql} AS running`);
  if (!head?.bound) return { count, next: null, hasMore: false, aborted: false };
  const [boundXid, boundSeq] = head.bound.split(".") as [string, string];
  const running = (JSON.parse(head.running) as string[]).map(bigintLiteral);
  const collection = uuidLiteral(collectionId);
  let after: ItemPosition = { xid: "0", seq: "0" };
  const maxRows = Math.max(1, Math.floor(options.rows));
  let rows = maxRows;
  let readBytes = 0;
  for (;;) {
    if (options.signal?.aborted) return { count, next: null, hasMore: false, aborted: true };
    const framer = new ItemFramer(framing, stamps);
    const copy = copyOut(`COPY (
      SELECT key, value, created, updated, version::text, ins_xid, seq FROM items
      WHERE collection_id = ${collection} AND (expires IS NULL OR expires > clock_timestamp())
        AND (ins_xid, seq) > (${bigintLiteral(after.xid)}, ${bigintLiteral(after.seq)})
        AND (ins_xid, seq) <= (${bigintLiteral(boundXid)}, ${bigintLiteral(boundSeq)})
        ${running.length ? `AND ins_xid <> ALL(ARRAY[${running.join(",")}])` : ""}
      ORDER BY ins_xid, seq LIMIT ${rows}) TO STDOUT (FORMAT binary)`);
    for await (const chunk of copy) {
      readBytes += chunk.length;
      framer.push(chunk);
      if (framer.bytes >= options.pieceBytes) {
        const piece = framer.take()!;
        count += piece.count;
        options.onItems?.(piece.count);
        yield [piece.text];
        if (options.signal?.aborted) return { count, next: null, hasMore: false, aborted: true };
      }
    }
    if (!framer.ended) throw new Error("a binary COPY ended without its trailer");
    const piece = framer.take();
    if (piece) {
      count += piece.count;
      options.onItems?.(piece.count);
      yield [piece.text];
    }
    if (framer.rows < rows || framer.last === null)
      return { count, next: null, hasMore: false, aborted: false };
    after = framer.last;
    rows = Math.max(1, Math.min(maxRows, Math.floor(options.statementBytes / (readBytes / count))));
  }
}

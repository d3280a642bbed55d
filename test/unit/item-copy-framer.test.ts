import { describe, expect, it } from "vitest";
import { ItemFramer, Timestamps } from "../../server/services/item-copy.js";

// The framer of the COPY stream path (server/services/item-copy.ts) fed a binary COPY cut at every kind of
// chunk boundary: the same items, byte for byte, however the socket splits the rows.

const PG_EPOCH_US = 946_684_800_000_000n;

interface Row {
  key: string;
  value: string;
  micros: bigint;
  version: string;
  xid: bigint;
  seq: bigint;
}

function field(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function int64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
}

/** A binary COPY of (key, value, created, updated, version::text, ins_xid, seq), as PostgreSQL sends it. */
function binaryCopy(rows: Row[]): Buffer {
  const header = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)]);
  const body = rows.map((r) => {
    const count = Buffer.alloc(2);
    count.writeInt16BE(7);
    return Buffer.concat([
      count,
      field(Buffer.from(r.key)),
      field(Buffer.from(r.value)),
      field(int64(r.micros)),
      field(int64(r.micros + 1n)),
      field(Buffer.from(r.version)),
      field(int64(r.xid)),
      field(int64(r.seq)),
    ]);
  });
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1);
  return Buffer.concat([header, ...body, trailer]);
}

/** A binary timestamp (µs since 2000-01-01) as ISO text with microseconds. */
const iso = (pgMicros: bigint) => {
  const unixMicros = pgMicros + PG_EPOCH_US;
  const millis = new Date(Number(unixMicros / 1000n)).toISOString().slice(0, 23);
  return `${millis}${String(unixMicros % 1000n).padStart(3, "0")}Z`;
};

/** The item JSON the stream must carry (itemJsonPieces' text). */
const itemJson = (r: Row) =>
  `{"key":${JSON.stringify(r.key)},"value":${r.value},"created":"${iso(r.micros)}","updated":"${iso(r.micros + 1n)}","version":${r.version}}`;

function rows(): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < 60; i++) {
    // Some rows longer than a chunk, a few of them many chunks long (pieces handed on unjoined).
    const size = i % 13 === 6 ? 300_000 : i % 7 === 3 ? 40_000 : i % 5 === 0 ? 3 : 900;
    out.push({
      key: i % 9 === 4 ? `quote"back\\slash\n${i}` : i % 11 === 2 ? `é🙂\u2028${i}` : `key-${i}`,
      value: i % 5 === 0 ? String(i) : JSON.stringify({ n: i, text: "x".repeat(size) }),
      // Before 2000 too (negative binary timestamps), as an import may give.
      micros: (i % 8 === 5 ? -880_000_000_000_000n : 880_000_000_000_000n) + BigInt(i) * 1_234_567n,
      version: String(100 + i),
      xid: 7n,
      seq: BigInt(1000 + i),
    });
  }
  return out;
}

function frameIn(chunks: Buffer[]): { text: string; count: number; framer: ItemFramer } {
  const framer = new ItemFramer(
    { separator: Buffer.from(","), after: Buffer.alloc(0), oneLine: false },
    new Timestamps(),
  );
  const pieces: string[] = [];
  let count = 0;
  for (const chunk of chunks) {
    framer.push(chunk);
    const piece = framer.take();
    if (piece) {
      // One joined buffer, or (large values) the pieces unjoined.
      pieces.push(Buffer.concat([piece.text].flat()).toString("utf8"));
      count += piece.count;
    }
  }
  return { text: pieces.join(","), count, framer };
}

function split(bytes: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

describe("binary COPY framing", () => {
  const data = rows();
  const copy = binaryCopy(data);
  const expected = data.map(itemJson).join(",");

  it("frames the rows into the items' JSON when the COPY arrives in one chunk", () => {
    const { text, count, framer } = frameIn([copy]);
    expect(count).toBe(data.length);
    expect(text).toBe(expected);
    expect(framer.ended).toBe(true);
    expect(framer.last).toEqual({ xid: "7", seq: String(1000 + data.length - 1) });
  });

  it.each([
    [[1]],
    [[2, 3]],
    [[7]],
    [[19, 20, 21]],
    [[1000]],
    [[16_384]],
    [[16_385, 5]],
    [[65_536]],
    [[40_013, 1, 900]],
  ])("gives the same bytes for chunks of %j bytes", (sizes) => {
    const { text, count, framer } = frameIn(split(copy, sizes));
    expect(count).toBe(data.length);
    expect(text).toBe(expected);
    expect(framer.ended).toBe(true);
  });

  it("gives the same bytes for chunks cut at random", () => {
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 20; round++) {
      const sizes = Array.from({ length: 50 }, () => 1 + Math.floor(random() * 50_000));
      expect(frameIn(split(copy, sizes)).text).toBe(expected);
    }
  });
});

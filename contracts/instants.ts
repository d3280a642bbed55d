// ISO 8601 instants with their precision (SPEC §3.1): `2024-10-08` is that whole UTC day,
// `…T12:00:00Z` that whole second. Bounds are computed in integer microseconds, never through Date.
// Pure functions: the time-filter parameters of both dialects validate with them (contracts/common.ts)
// and the item services turn them into SQL bounds (server/services/time-filters.ts).

export interface PreciseInstant {
  /** First microsecond of the instant's precision (microseconds since the Unix epoch). */
  startUs: bigint;
  /** Last microsecond of it. */
  endUs: bigint;
}

const isoRe =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

const NS_PER_US = 1000n;

function daysFromCivil(y: number, m: number, d: number): number {
  // Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date.
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  return [
    31,
    y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28,
    31,
    30,
    31,
    30,
    31,
    31,
    30,
    31,
    30,
    31,
  ][m - 1]!;
}

const divFloor = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
const divCeil = (a: bigint, b: bigint) => -divFloor(-a, b);

/** Parses an ISO 8601 date or date-time (offset optional, UTC when absent); throws a message on failure. */
export function parsePreciseInstant(text: string): PreciseInstant {
  const m = isoRe.exec(text);
  if (!m) throw new Error("must be an ISO 8601 date (2024-10-08) or date-time (2024-10-08T12:00:00Z)");
  const [, ys, mos, ds, hs, mis, ss, frac, offset] = m;
  const y = Number(ys),
    mo = Number(mos),
    d = Number(ds);
  if (y < 1) throw new Error("year must be between 0001 and 9999");
  if (mo < 1 || mo > 12) throw new Error(`month ${mos} does not exist`);
  if (d < 1 || d > daysInMonth(y, mo)) throw new Error(`day ${ds} does not exist in ${ys}-${mos}`);
  const h = hs === undefined ? 0 : Number(hs),
    mi = mis === undefined ? 0 : Number(mis),
    s = ss === undefined ? 0 : Number(ss);
  if (h > 23) throw new Error(`hour ${hs} is out of range`);
  if (mi > 59) throw new Error(`minute ${mis} is out of range`);
  if (s > 59) throw new Error(`second ${ss} is out of range`);
  let offsetMinutes = 0;
  if (offset && offset !== "Z") {
    const sign = offset[0] === "-" ? -1 : 1;
    const digits = offset.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2)),
      om = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (oh > 23 || om > 59) throw new Error(`offset ${offset} is out of range`);
    offsetMinutes = sign * (oh * 60 + om);
  }
  const unitNs =
    hs === undefined
      ? 86_400n * 10n ** 9n
      : ss === undefined
        ? 60n * 10n ** 9n
        : frac === undefined
          ? 10n ** 9n
          : 10n ** BigInt(9 - frac.length);
  const fracNs = frac === undefined ? 0n : BigInt(frac.padEnd(9, "0"));
  const seconds =
    BigInt(daysFromCivil(y, mo, d)) * 86_400n + BigInt(h * 3600 + mi * 60 + s - offsetMinutes * 60);
  const startNs = seconds * 10n ** 9n + fracNs;
  return { startUs: divCeil(startNs, NS_PER_US), endUs: divFloor(startNs + unitNs - 1n, NS_PER_US) };
}

/** Microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (what PostgreSQL's timestamptz accepts). */
export function microsToIso(us: bigint): string {
  const ms = divFloor(us, 1000n);
  const date = new Date(Number(ms));
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9999) {
    throw new Error("is outside the years 0001 to 9999");
  }
  const micros = us - divFloor(us, 1_000_000n) * 1_000_000n;
  return `${date.toISOString().slice(0, 19)}.${micros.toString().padStart(6, "0")}Z`;
}

/** The two readings of a time filter: SPEC §3.1's precision bounds, and Lightning's instants (SPEC §5). */
export type TimeDialect = "rest" | "lightning";

// Lightning takes full date-times only (a date alone is a 400), with an explicit offset.
const fullDateTimeRe = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$/;

/**
 * The microsecond bound a filter value stands for: `*_after` from the start of its precision (rest) or
 * the instant (lightning); `*_before` to the end of its precision (rest) or the instant (lightning).
 * Throws a message naming the problem, also when the bound falls outside the years 0001 to 9999.
 */
export function filterBound(text: string, side: "after" | "before", dialect: TimeDialect): string {
  if (dialect === "lightning" && !fullDateTimeRe.test(text))
    throw new Error("must be a full ISO 8601 date-time with an offset, e.g. 2024-10-08T12:00:00Z");
  const instant = parsePreciseInstant(text);
  return microsToIso(dialect === "rest" && side === "before" ? instant.endUs : instant.startUs);
}

/** Why `text` cannot be a time filter of that side and dialect, or null. */
export function filterProblem(text: string, side: "after" | "before", dialect: TimeDialect): string | null {
  try {
    filterBound(text, side, dialect);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

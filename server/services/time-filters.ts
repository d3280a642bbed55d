import { filterBound, type TimeDialect } from "../../contracts/instants.js";
import { invalidParameter } from "../errors.js";

// The four time filters (SPEC §3.1, §5) as SQL bounds, for both dialects.

/** One side of a time range; `inclusive` picks >= / <= over > / <. */
export interface TimeBound {
  /** Microsecond ISO UTC instant (microsToIso). */
  at: string;
  inclusive: boolean;
}

export interface TimeRange {
  after?: TimeBound;
  before?: TimeBound;
}

export interface TimeParams {
  created_after?: string;
  created_before?: string;
  updated_after?: string;
  updated_before?: string;
}

/**
 * The created and updated ranges of the parameters: REST bounds are inclusive at both ends of each
 * instant's precision; Lightning's are `>=` after and `<` before the instant. 400 naming the parameter.
 */
export function timeRanges(
  params: TimeParams,
  dialect: TimeDialect,
): { created?: TimeRange; updated?: TimeRange } {
  const range = (field: "created" | "updated"): TimeRange | undefined => {
    const out: TimeRange = {};
    for (const side of ["after", "before"] as const) {
      const name = `${field}_${side}` as const;
      const text = params[name];
      if (text === undefined) continue;
      let at: string;
      try {
        at = filterBound(text, side, dialect);
      } catch (e) {
        const message = (e as Error).message;
        throw invalidParameter(name, message);
      }
      out[side] = { at, inclusive: dialect === "rest" || side === "after" };
    }
    return out.after || out.before ? out : undefined;
  };
  return { created: range("created"), updated: range("updated") };
}

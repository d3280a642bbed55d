import type { z } from "zod";
import { badRequest, invalidInput, invalidParameter } from "../errors.js";

/** The query string as one value per parameter, and the names given more than once. */
export interface QueryValues {
  values: Record<string, string>;
  repeated: ReadonlySet<string>;
}

/**
 * The query string, percent-decoded strictly: invalid UTF-8 or a broken escape is a 400 naming the
 * parameter. A repeated parameter keeps its first value and is refused by parseParams when the route
 * uses it (routes that ignore a parameter ignore its repetitions too).
 */
export function parseQueryString(search: string): QueryValues {
  const values = new Map<string, string>();
  const repeated = new Set<string>();
  for (const part of search.replace(/^\?/, "").split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? "" : part.slice(eq + 1);
    const name = decode(rawName, rawName);
    const value = decode(rawValue, name);
    if (values.has(name)) repeated.add(name);
    else values.set(name, value);
  }
  return { values: Object.fromEntries(values), repeated };
}

function decode(text: string, param: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    throw invalidParameter(param, "not valid percent-encoded UTF-8");
  }
}

/** Parses query values with a contract schema; a 400 naming every bad, repeated or unknown parameter otherwise. */
export function parseParams<S extends z.ZodObject>(schema: S, query: QueryValues): z.output<S> {
  const used = [...query.repeated].filter((name) => Object.hasOwn(schema.shape, name));
  if (used.length) {
    throw badRequest(
      used.map((name) => `Invalid parameter "${name}": given more than once`).join("; "),
      used.map((name) => ({ path: name, message: "given more than once" })),
    );
  }
  const r = schema.safeParse(query.values);
  if (r.success) return r.data;
  throw invalidInput(r.error.issues);
}

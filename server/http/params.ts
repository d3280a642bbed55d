import type { z } from "zod";
import { badRequest } from "../errors.js";

/**
 * The query string as one value per parameter. Percent-decoding is strict (invalid UTF-8 or a broken
 * escape is a 400 naming the parameter) and a repeated parameter is a 400.
 */
export function parseQueryString(search: string): Record<string, string> {
  const out = new Map<string, string>();
  for (const part of search.replace(/^\?/, "").split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? "" : part.slice(eq + 1);
    const name = decode(rawName, rawName);
    const value = decode(rawValue, name);
    if (out.has(name)) throw badRequest(`Invalid parameter "${name}": given more than once`, [{ path: name, message: "given more than once" }]);
    out.set(name, value);
  }
  return Object.fromEntries(out);
}

function decode(text: string, param: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    throw badRequest(`Invalid parameter "${param}": not valid percent-encoded UTF-8`, [{ path: param, message: "not valid percent-encoded UTF-8" }]);
  }
}

/** Parses with a contract schema; a 400 naming every bad or unknown parameter otherwise. */
export function parseParams<S extends z.ZodType>(schema: S, values: unknown): z.output<S> {
  const r = schema.safeParse(values);
  if (r.success) return r.data;
  const issues: { path: string; message: string }[] = [];
  for (const issue of r.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) issues.push({ path: key, message: "unknown parameter" });
    } else {
      issues.push({ path: issue.path.map(String).join(".") || "(query)", message: issue.message });
    }
  }
  const message = issues
    .map((i) => (i.message === "unknown parameter" ? `Unknown parameter "${i.path}"` : `Invalid parameter "${i.path}": ${i.message}`))
    .join("; ");
  throw badRequest(message, issues);
}

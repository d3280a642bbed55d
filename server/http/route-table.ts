import type { OpenApiMeta } from "trpc-to-openapi";
import type { AnyRouter } from "@trpc/server";
import { isDocsPath } from "./docs.js";
import { LIGHTNING_PREFIX } from "./lightning-respond.js";
import { rawRoutes, type RawRoute } from "./raw-routes.js";
import { hasUnresolvedSegments } from "./request-target.js";

// Every path the service answers, with its template (the label of logs and /metrics) and its methods
// (the `Allow` of a 405 and of OPTIONS). server/http/dispatch.ts routes by it.

export type RouteKind = "openapi-json" | "docs" | "metrics" | "trpc" | "procedure" | "raw";

export interface Route {
  /** The path template, e.g. `/collections/{name}`; never the raw path. */
  template: string;
  kind: RouteKind;
  /** Methods answered (GET's route also answers HEAD). */
  methods: readonly string[];
  /** Answers in the Lightning dialect's error body. */
  lightning: boolean;
  raw?: RawRoute;
  /** trpc-to-openapi procedures: the methods whose body is only read once the caller is authenticated. */
  protectedMethods?: ReadonlySet<string>;
}

interface Entry extends Route {
  match(path: string): boolean;
}

const ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** The `Allow` list of methods: HEAD wherever GET is, and OPTIONS (server/http/dispatch.ts answers it). */
export function allowOf(methods: readonly string[]): string[] {
  const all = new Set([...methods, "OPTIONS", ...(methods.includes("GET") ? ["HEAD"] : [])]);
  return ORDER.filter((m) => all.has(m));
}

export const isLightningPath = (path: string): boolean =>
  path === LIGHTNING_PREFIX || path.startsWith(LIGHTNING_PREFIX + "/");

/** The routes of trpc-to-openapi: one per OpenAPI path of the router's procedures (their `meta.openapi`). */
function procedureRoutes(router: AnyRouter): Entry[] {
  const byPath = new Map<string, { methods: string[]; protectedMethods: Set<string> }>();
  for (const procedure of Object.values(
    router._def.procedures as Record<string, { _def: { meta?: OpenApiMeta } }>,
  )) {
    const openapi = procedure._def.meta?.openapi;
    if (!openapi || openapi.enabled === false) continue;
    const path = openapi.path.replace(/\/+$/, "") || "/";
    const entry = byPath.get(path) ?? { methods: [], protectedMethods: new Set<string>() };
    entry.methods.push(openapi.method);
    if (openapi.protect !== false) entry.protectedMethods.add(openapi.method);
    byPath.set(path, entry);
  }
  return [...byPath].map(([template, { methods, protectedMethods }]) => {
    const pattern = new RegExp(
      "^" +
        template
          .split(/\{[^}]+\}/)
          .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
          .join("[^/]+") +
        "/?$",
    );
    return {
      template,
      kind: "procedure" as const,
      methods,
      lightning: false,
      protectedMethods,
      // trpc-to-openapi resolves the path with WHATWG URL: only a path that needs no resolving reaches it.
      match: (path: string) => pattern.test(path) && !hasUnresolvedSegments(path),
    };
  });
}

export class RouteTable {
  private readonly entries: Entry[];

  constructor(router: AnyRouter) {
    this.entries = [
      {
        template: "/openapi.json",
        kind: "openapi-json",
        methods: ["GET"],
        lightning: false,
        match: (p) => p === "/openapi.json",
      },
      { template: "/docs", kind: "docs", methods: ["GET"], lightning: false, match: isDocsPath },
      {
        template: "/metrics",
        kind: "metrics",
        methods: ["GET"],
        lightning: false,
        match: (p) => p === "/metrics",
      },
      // tRPC answers a query's POST or a mutation's GET itself (405, in its envelope).
      {
        template: "/trpc/{procedure}",
        kind: "trpc",
        methods: ["GET", "POST"],
        lightning: false,
        match: (p) => p.startsWith("/trpc/"),
      },
      ...rawRoutes.map((raw) => ({
        template: raw.template,
        kind: "raw" as const,
        methods: Object.keys(raw.methods),
        lightning: raw.lightning ?? false,
        raw,
        match: raw.match,
      })),
      ...procedureRoutes(router),
    ];
  }

  /** The route of a raw path (as sent), or undefined. */
  find(path: string): Route | undefined {
    return this.entries.find((e) => e.match(path));
  }
}

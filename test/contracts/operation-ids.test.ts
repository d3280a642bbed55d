import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { appRouter } from "../../server/router.js";

// SPEC §4: operationIds in one style, the tRPC procedure path, so that generated SDKs read well.

const doc = JSON.parse(readFileSync(new URL("../../openapi.json", import.meta.url), "utf8")) as {
  paths: Record<string, Record<string, { operationId?: string }>>;
};
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, op]) => ({
    route: `${method.toUpperCase()} ${path}`,
    operationId: op.operationId,
  })),
);
/** Every procedure by path: typed as the nested record, flattened to dotted paths at run time. */
const procedures = appRouter._def.procedures as unknown as Record<
  string,
  { _def: { meta?: { openapi?: { method: string; path: string } } } }
>;

/** The raw routes (contracts/raw-paths.ts) that a procedure also serves; `{key}` routes add "ByPattern". */
const rawRouteProcedures: Record<string, string> = {
  "GET /collections/{name}": "items.get",
  "GET /collections/{name}/{key}": "items.get",
  "POST /collections/{name}": "items.upsert",
  "DELETE /collections/{name}": "items.delete",
  "DELETE /collections/{name}/{key}": "items.delete",
  // SPEC §9.3: the SSE feed and the tRPC subscription items.changes.
  "GET /collections/{name}/changes": "items.changes",
};

/** Raw routes of one exact key that a procedure also serves, named as it (SPEC §9.1: a PUT's body is the value). */
const rawItemRoutes: Record<string, string> = {
  "PUT /collections/{name}/{key}": "items.put",
};

/** Raw routes that no procedure serves (SPEC §9.4: streams of NDJSON), named in the items namespace. */
const rawOnlyRoutes: Record<string, string> = {
  "GET /collections/{name}/export": "items.export",
  "POST /collections/{name}/import": "items.import",
};

describe("operationIds", () => {
  it("every operation has one, dotted lower camel case segments, all different", () => {
    expect(operations.length).toBeGreaterThan(15);
    for (const { route, operationId } of operations) {
      expect(operationId, route).toMatch(/^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+$/);
    }
    const ids = operations.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("a route served by trpc-to-openapi is named by its procedure's path", () => {
    let checked = 0;
    for (const [path, procedure] of Object.entries(procedures)) {
      const openapi = procedure._def.meta?.openapi;
      if (!openapi) continue;
      const route = `${openapi.method} ${openapi.path}`;
      expect(operations.find((o) => o.route === route)?.operationId, route).toBe(path);
      checked++;
    }
    expect(checked).toBe(10); // with collections.update (SPEC §9.2: the default TTL)
  });

  it("a raw route is named by the procedure that does the same, and the Lightning dialect by its namespace", () => {
    for (const { route, operationId } of operations) {
      if (route.includes(" /lightning/")) {
        expect(operationId, route).toMatch(/^lightning\./);
        continue;
      }
      const procedure = rawRouteProcedures[route];
      if (!procedure) continue;
      expect(procedures[procedure], procedure).toBeDefined();
      expect(operationId, route).toBe(route.endsWith("/{key}") ? `${procedure}ByPattern` : procedure);
    }
    for (const route of Object.keys(rawRouteProcedures))
      expect(operations.map((o) => o.route)).toContain(route);
  });

  it("every route is either a procedure's, a raw route of the table above, or the Lightning dialect's", () => {
    const viaProcedure = new Set(
      Object.values(procedures).flatMap((p) =>
        p._def.meta?.openapi ? [`${p._def.meta.openapi.method} ${p._def.meta.openapi.path}`] : [],
      ),
    );
    const unaccounted = operations.filter(
      (o) =>
        !viaProcedure.has(o.route) &&
        !rawRouteProcedures[o.route] &&
        !rawItemRoutes[o.route] &&
        !rawOnlyRoutes[o.route] &&
        !o.route.includes(" /lightning/"),
    );
    expect(unaccounted).toEqual([]);
    for (const [route, operationId] of Object.entries(rawOnlyRoutes))
      expect(operations.find((o) => o.route === route)?.operationId, route).toBe(operationId);
    for (const [route, procedure] of Object.entries(rawItemRoutes)) {
      expect(procedures[procedure], procedure).toBeDefined();
      expect(procedures[procedure]!._def.meta?.openapi, procedure).toBeUndefined();
      expect(operations.find((o) => o.route === route)?.operationId, route).toBe(procedure);
    }
  });
});

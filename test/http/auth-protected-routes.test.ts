import { expect } from "vitest";
import { buildOpenApiDocument } from "../../server/openapi.js";
import { send } from "../support/auth.js";
import { it } from "../support/fixtures.js";

// Every documented REST operation but the public ones answers 401 without a valid token. The list comes
// from the OpenAPI document, so routes added later are covered without touching this test.

const publicPaths = new Set(["/health", "/docs", "/openapi.json"]);
const methods = ["get", "post", "put", "patch", "delete"] as const;

function examplePath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, (_, param: string) =>
    param.endsWith("id")
      ? "3f2b8a4e-9c1d-4e5f-8a7b-6c5d4e3f2a1b"
      : param === "name"
        ? "some-collection"
        : "some-key",
  );
}

const operations = Object.entries(buildOpenApiDocument().paths ?? {})
  .filter(([path]) => !publicPaths.has(path))
  .flatMap(([path, item]) =>
    methods
      .filter((m) => (item as Record<string, unknown>)[m])
      .map((m) => ({ method: m.toUpperCase(), path })),
  );

it("finds the protected operations in the document", () => {
  const names = operations.map((o) => `${o.method} ${o.path}`);
  expect(names).toEqual(
    expect.arrayContaining([
      "GET /tokens",
      "POST /tokens",
      "DELETE /tokens/{id}",
      "POST /projects/{project_id}/run-tokens",
    ]),
  );
});

it.for(operations)(
  "$method $path answers 401 without a token, with a garbage one and with a non-Bearer one",
  async ({ method, path }, { server }) => {
    const body = ["POST", "PUT", "PATCH"].includes(method) ? [] : undefined;
    for (const authorization of [undefined, "Bearer garbage", "Basic dXNlcjpwYXNz"]) {
      const r = await send(server, authorization, method, examplePath(path), body);
      expect(
        r.status,
        `${method} ${path} with ${authorization ?? "no header"}: ${JSON.stringify(r.body)}`,
      ).toBe(401);
      // our Error body, or the OpenFn dialect's own (SPEC §5)
      expect(path.startsWith("/lightning/") ? r.body : r.body.code).toEqual(
        path.startsWith("/lightning/") ? { error: "Unauthorized" } : "UNAUTHORIZED",
      );
    }
  },
);

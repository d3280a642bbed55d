import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Validator } from "@seriousme/openapi-schema-validator";
import { buildOpenApiDocument, openApiJson } from "../../server/openapi.js";

const committed = readFileSync(new URL("../../openapi.json", import.meta.url), "utf8");

// Error statuses whose body SPEC defines otherwise: §3.2's 422 has the upsert result's shape, §9.4's the import's.
const specBodies = new Set(["POST /collections/{name} 422", "POST /collections/{name}/import 422"]);

describe("openapi.json", () => {
  it("is the committed output of the generator (run `npm run openapi` after changing a contract)", () => {
    expect(committed).toBe(openApiJson());
  });

  it("validates against the OpenAPI 3.1 schema", async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(committed));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("documents one error body, and every operation's error responses use it", () => {
    const doc = buildOpenApiDocument();
    expect(doc.components?.schemas?.Error).toBeTruthy();
    let errorResponses = 0;
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      for (const [method, op] of Object.entries(
        item as Record<
          string,
          { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }
        >,
      )) {
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          if (Number(status) < 400) continue;
          const schema = response.content?.["application/json"]?.schema as { $ref?: string } | undefined;
          if (path.startsWith("/lightning/")) continue; // OpenFn's dialect keeps its own {"error": …} body
          if (specBodies.has(`${method.toUpperCase()} ${path} ${status}`)) continue;
          expect(schema?.$ref, `${method.toUpperCase()} ${path} ${status}`).toBe(
            "#/components/schemas/Error",
          );
          errorResponses++;
        }
      }
    }
    expect(errorResponses).toBeGreaterThan(0);
  });
});

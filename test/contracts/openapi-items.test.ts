import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../../server/openapi.js";

describe("openapi.json: the collections API", () => {
  const doc = buildOpenApiDocument() as unknown as {
    paths: Record<
      string,
      Record<
        string,
        {
          parameters?: { name: string; in: string }[];
          responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
        }
      >
    >;
  };

  it("validates against the OpenAPI 3.1 schema", async () => {
    const result = await new Validator().validate(JSON.parse(JSON.stringify(doc)));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("documents every route, parameter and status of SPEC §3", () => {
    const op = (path: string, method: string) => {
      const o = doc.paths[path]?.[method];
      expect(o, `${method} ${path}`).toBeDefined();
      return o!;
    };
    const params = (path: string, method: string) =>
      op(path, method)
        .parameters!.map((p) => `${p.in}:${p.name}`)
        .sort();
    const time = [
      "query:created_after",
      "query:created_before",
      "query:updated_after",
      "query:updated_before",
    ];
    expect(params("/collections/{name}/{key}", "get")).toEqual(
      [
        "path:name",
        "path:key",
        ...time,
        "query:limit",
        "query:offset",
        "query:cursor",
        "query:meta",
        "query:keys_only",
        "query:project_id",
        "header:If-None-Match",
      ].sort(),
    );
    expect(Object.keys(op("/collections/{name}/{key}", "get").responses)).toContain("304");
    expect(params("/collections/{name}", "get")).not.toContain("path:key");
    expect(params("/collections/{name}/{key}", "delete")).toEqual(
      [
        "path:name",
        "path:key",
        ...time,
        "query:dry_run",
        "query:max_affected",
        "query:project_id",
        "header:If-Match",
      ].sort(),
    );
    expect(Object.keys(op("/collections/{name}/{key}", "delete").responses)).toContain("412");
    // SPEC §9.1: PUT of one item, conditional on its version.
    expect(params("/collections/{name}/{key}", "put")).toEqual(
      [
        "path:name",
        "path:key",
        "query:ttl_seconds",
        "query:expires_at",
        "query:project_id",
        "header:If-Match",
        "header:If-None-Match",
      ].sort(),
    );
    expect(Object.keys(op("/collections/{name}/{key}", "put").responses)).toEqual(
      expect.arrayContaining(["200", "201", "400", "401", "403", "404", "409", "412", "413", "415"]),
    );
    expect(Object.keys(op("/collections/{name}/{key}", "delete").responses)).toContain("409");
    // SPEC §9.3: the change feed, an event stream or (format=json) a long-poll answer.
    expect(params("/collections/{name}/changes", "get")).toEqual(
      [
        "path:name",
        "query:key",
        "query:since",
        "query:format",
        "query:limit",
        "query:wait",
        "query:project_id",
        "header:Last-Event-ID",
      ].sort(),
    );
    const feed = op("/collections/{name}/changes", "get").responses;
    expect(Object.keys(feed)).toEqual(expect.arrayContaining(["200", "400", "401", "403", "404", "410"]));
    expect(Object.keys(feed["200"]!.content!).sort()).toEqual(["application/json", "text/event-stream"]);
    expect(feed["410"]!.content!["application/json"]!.schema.$ref).toBe("#/components/schemas/Error");
    expect(params("/collections/{name}/count", "get")).toEqual(
      ["path:name", "query:key", ...time, "query:project_id"].sort(),
    );
    expect(params("/collections/{name}", "post")).toEqual(["path:name", "query:project_id"]);
    expect(Object.keys(op("/collections/{name}", "post").responses)).toEqual(
      expect.arrayContaining(["200", "201", "400", "401", "403", "404", "409", "413", "415", "422"]),
    );
    expect(Object.keys(op("/collections/{name}", "get").responses)).toEqual(
      expect.arrayContaining(["200", "400", "401", "404", "409"]),
    );
    op("/collections", "get");
    op("/projects/{project_id}/collections", "post");
    op("/projects/{project_id}/collections/{name}", "delete");
  });

  it("every error response of these routes is the one Error schema (422 of an upsert keeps the result shape)", () => {
    for (const path of [
      "/collections",
      "/collections/{name}",
      "/collections/{name}/{key}",
      "/projects/{project_id}/collections",
      "/projects/{project_id}/collections/{name}",
    ]) {
      for (const [method, o] of Object.entries(doc.paths[path]!)) {
        for (const [status, response] of Object.entries(o.responses)) {
          if (Number(status) < 400) continue;
          const ref = response.content?.["application/json"]?.schema.$ref;
          const expected =
            path === "/collections/{name}" && method === "post" && status === "422"
              ? "#/components/schemas/UpsertResult"
              : "#/components/schemas/Error";
          expect(ref, `${method} ${path} ${status}`).toBe(expected);
        }
      }
    }
  });
});

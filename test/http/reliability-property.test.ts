import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect } from "vitest";
import { test } from "../support/fixtures.js";
import { seed } from "../support/items.js";
import { rawRequest } from "../support/raw.js";

// Requests generated from openapi.json's own schemas, valid and mutated: every answer is a status the
// document lists for that operation, with a body its schema allows, and never a 5xx.

type Schema = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  parameters: { in: "path" | "query"; name: string; required?: boolean; schema: Schema }[];
  body?: Schema;
  responses: Record<string, { content?: { "application/json"?: { schema: Schema } } }>;
}

const doc = JSON.parse(readFileSync(new URL("../../openapi.json", import.meta.url), "utf8"));
const components: Record<string, Schema> = doc.components.schemas;
const resolve = (s: Schema): Schema => (s.$ref ? resolve(components[s.$ref.split("/").pop()!]!) : s);

const operations: Operation[] = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(
  ([path, item]) =>
    Object.entries(item).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      body: op.requestBody?.content?.["application/json"]?.schema,
      responses: op.responses,
    })),
);

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: false });
const validators = new Map<Schema, ReturnType<typeof ajv.compile>>();
function validate(schema: Schema, value: unknown): string | null {
  let v = validators.get(schema);
  if (!v) validators.set(schema, (v = ajv.compile({ ...schema, components: doc.components })));
  return v(value) ? null : ajv.errorsText(v.errors);
}

/** Values a schema allows (bounded in size). */
function valid(schema: Schema): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.anyOf) return fc.oneof(...s.anyOf.map(valid));
  switch (s.type) {
    case "integer":
      return fc.integer({
        min: s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -5),
        max: Math.min(s.maximum ?? 1000, 1000),
      });
    case "number":
      return fc.double({ min: s.minimum ?? -1000, max: s.maximum ?? 1000, noNaN: true });
    case "boolean":
      return fc.boolean();
    case "array":
      return fc.array(valid(s.items ?? {}), { maxLength: 3 });
    case "object": {
      const props = Object.fromEntries(
        Object.entries(s.properties ?? {}).map(([k, p]) => [k, valid(p as Schema)]),
      );
      return fc.record(props, { requiredKeys: s.required ?? [] });
    }
    case "string":
      if (s.format === "uuid") return fc.uuid();
      if (s.pattern)
        return fc
          .stringMatching(new RegExp(s.pattern))
          .filter((v) => v.length >= (s.minLength ?? 0) && v.length <= (s.maxLength ?? 64));
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 20, 20) });
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Anything at all, as a parameter value or as a body. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom("", "-1", "0", "1.5", "NaN", "%", "_", "\\", "'", '"', "*", "true", "x".repeat(2000)),
);
const mutated = (schema: Schema) =>
  fc.oneof(
    { weight: 3, arbitrary: valid(schema) },
    { weight: 1, arbitrary: hostileText },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );

const it = test
  .extend("collection", { scope: "file" }, async ({ server, tenant }) => {
    const name = await tenant.collection();
    await seed(
      server,
      name,
      tenant.project.id,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: { i } })),
    );
    return name;
  })
  /** `request(op)`: requests for an operation, valid and mutated, as one of the tenant's users. */
  .extend("request", { scope: "file" }, ({ tenant, collection: name }) => {
    /** Path values: the tenant's real collection and project often, so that requests get past the lookup. */
    function pathValue(op: Operation, param: Operation["parameters"][number]): fc.Arbitrary<string> {
      const destructive =
        op.method === "DELETE" && (op.path.startsWith("/projects/") || op.path.startsWith("/tokens/"));
      if (param.name === "name")
        return destructive
          ? valid(param.schema).map(String)
          : fc.oneof(fc.constant(name), valid(param.schema).map(String), hostileText);
      if (param.name === "project_id")
        return fc.oneof(fc.constant(tenant.project.id), fc.constant(randomUUID()), hostileText);
      if (param.name === "key")
        return fc.oneof(
          fc.constantFrom("k1", "k*", "*"),
          valid(param.schema).map(String),
          hostileText.filter((s) => s !== ""),
        );
      return fc.oneof(valid(param.schema).map(String), hostileText);
    }

    return (op: Operation) =>
      fc.record({
        path: fc.tuple(
          ...op.parameters
            .filter((p) => p.in === "path")
            .map((p) => pathValue(op, p).map((v) => [p.name, v] as const)),
        ),
        query: fc.tuple(
          ...op.parameters
            .filter((p) => p.in === "query")
            .map((p) =>
              fc.option(
                mutated(p.schema).map(
                  (v) => [p.name, typeof v === "string" ? v : JSON.stringify(v)] as const,
                ),
                { nil: undefined },
              ),
            ),
        ),
        unknown: fc.option(fc.constantFrom("foo", "limit2", "__proto__"), { nil: undefined, freq: 8 }),
        body: op.body ? fc.option(mutated(op.body), { nil: undefined, freq: 10 }) : fc.constant(undefined),
        user: fc.constantFrom("owner", "editor", "viewer"),
      });
  });
it.override({ serverEnv: { MAX_BODY_BYTES: "65536" } });

describe("requests generated from openapi.json", () => {
  it("every answer is documented: its status and its body", async ({ server, tenant, request }) => {
    const runs = Math.max(2, Math.floor(400 / operations.length));
    for (const op of operations) {
      await fc.assert(
        fc.asyncProperty(request(op), async (r) => {
          let path = op.path;
          for (const [k, v] of r.path) path = path.replace(`{${k}}`, encodeURIComponent(v));
          const query = new URLSearchParams();
          for (const q of r.query) if (q) query.set(q[0], q[1]);
          if (r.unknown) query.set(r.unknown, "1");
          const qs = query.toString();
          const user = tenant.users[r.user as "owner" | "editor" | "viewer"];
          const headers: Record<string, string> = { ...user.headers };
          if (op.body) headers["content-type"] = "application/json";
          const answer = await rawRequest(
            server,
            op.method,
            path + (qs ? `?${qs}` : ""),
            headers,
            op.body ? JSON.stringify(r.body ?? null) : undefined,
          );
          const where = `${op.method} ${path}?${qs} → ${answer.status} ${answer.text.slice(0, 300)}`;
          expect(answer.status, where).toBeLessThan(500);
          const documented = op.responses[String(answer.status)];
          expect(documented, `undocumented status: ${where}`).toBeDefined();
          const schema = documented!.content?.["application/json"]?.schema;
          if (schema) expect(validate(schema, answer.body), where).toBeNull();
          else expect(answer.text, where).toBe("");
        }),
        { numRuns: runs, seed: 7301 },
      );
    }
  });
});

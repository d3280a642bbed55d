import { generateOpenApiDocument, type OpenAPIObject } from "trpc-to-openapi";
import { createDocument } from "zod-openapi";
import { errorBodySchema } from "../contracts/common.js";
import { rawPaths } from "../contracts/raw-paths.js";
import { appRouter } from "./router.js";

const errorRef = { $ref: "#/components/schemas/Error" };

/**
 * The OpenAPI 3.1 document of every REST route: the tRPC procedures with OpenAPI meta, plus the raw
 * routes of contracts/raw-paths.ts. Error responses all point at the one Error schema.
 */
export function buildOpenApiDocument(): OpenAPIObject {
  const doc = generateOpenApiDocument(appRouter, {
    title: "Collections service",
    description:
      "Named key-value stores of JSON values, owned by projects. Every route but /health needs `Authorization: Bearer <token>`.",
    version: "0.1.0",
    openApiVersion: "3.1.0",
    baseUrl: "/",
    docsUrl: "/docs",
    paths: rawPaths,
    securitySchemes: {
      Authorization: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A user access token or a run token" },
    },
  });
  // The Error schema, rendered by zod-openapi from the contract.
  const errorComponent = createDocument({
    openapi: "3.1.0",
    info: { title: "", version: "" },
    components: { schemas: { Error: errorBodySchema } },
  }).components!.schemas!.Error;
  doc.components ??= {};
  doc.components.schemas = { ...doc.components.schemas, Error: errorComponent as never };
  for (const name of Object.keys(doc.components.schemas)) {
    if (name.startsWith("error.")) delete doc.components.schemas[name];
  }
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item as Record<string, { responses?: Record<string, { content?: Record<string, { schema: unknown }> }> }>)) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const schema = response.content?.["application/json"]?.schema as { $ref?: string } | undefined;
        // A response documented with a schema of its own (e.g. 422 of an upsert) keeps it.
        const ownSchema = schema?.$ref !== undefined && !schema.$ref.startsWith("#/components/schemas/error.");
        if (Number(status) >= 400 && response.content?.["application/json"] && !ownSchema) {
          response.content["application/json"].schema = errorRef;
        }
      }
    }
  }
  return doc;
}

export function openApiJson(): string {
  return JSON.stringify(buildOpenApiDocument(), null, 2) + "\n";
}

import { generateOpenApiDocument, type OpenAPIObject } from "trpc-to-openapi";
import { createDocument } from "zod-openapi";
import { errorBodySchema } from "../contracts/common.js";
import { rawPaths } from "../contracts/raw-paths.js";
import { appRouter } from "./router.js";

const errorRef = { $ref: "#/components/schemas/Error" };

interface Operation {
  security?: unknown[];
  requestBody?: unknown;
  responses?: Record<string, { description?: string; content?: Record<string, { schema: unknown }> }>;
}

/**
 * Answers every route may give whatever its contract says (SPEC §6): the limits on bodies, the
 * per-token rate and stream limits, an unavailable database. Added where a route does not document them.
 */
function addCommonResponses(op: Operation, lightning: boolean): void {
  const schema = lightning ? { $ref: "#/components/schemas/LightningError" } : errorRef;
  const add = (status: string, description: string, body: unknown = schema) => {
    op.responses ??= {};
    op.responses[status] ??= { description, content: { "application/json": { schema: body } } };
  };
  add(
    "400",
    op.requestBody
      ? "The body is not JSON, not valid UTF-8, or not of the documented shape; or a bad parameter"
      : "A malformed, repeated or unknown parameter",
  );
  if (op.requestBody) {
    // Answered by the HTTP layer before any route is chosen, so always with the Error body.
    add("408", "The request did not arrive within HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS", errorRef);
    add("413", "The body exceeds MAX_BODY_BYTES");
    add("415", "The content type is not application/json");
  }
  // A path filled in with other values may name another route (`/collections/` is GET /collections).
  add("405", "The path, as filled in, is a route without this method: `Allow` lists the methods it has");
  if (op.security?.length)
    add(
      "429",
      "Over RATE_LIMIT_PER_MINUTE for this token (see Retry-After and the RateLimit-* headers), or MAX_STREAMS_PER_TOKEN streams already open",
    );
  add("503", "The database is not available; retry after the Retry-After delay");
}

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
      Authorization: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "JWT",
        description: "A user access token or a run token",
      },
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
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const op of Object.values(item as Record<string, Operation>)) {
      addCommonResponses(op, path.startsWith("/lightning/"));
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const schema = response.content?.["application/json"]?.schema as { $ref?: string } | undefined;
        // A response documented with a schema of its own (e.g. 422 of an upsert) keeps it.
        const ownSchema =
          schema?.$ref !== undefined && !schema.$ref.startsWith("#/components/schemas/error.");
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

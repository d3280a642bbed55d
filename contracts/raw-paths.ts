import type { ZodOpenApiPathsObject } from "zod-openapi";
import { itemPaths } from "./items/openapi-paths.js";
import { lightningPaths } from "./lightning/openapi-paths.js";

/**
 * OpenAPI paths of the routes served outside trpc-to-openapi (raw streaming handlers and the Lightning
 * dialect), built from the same Zod schemas those handlers validate with.
 */
export const rawPaths: ZodOpenApiPathsObject = { ...itemPaths, ...lightningPaths };

import { z } from "zod";
import type { OpenApiMeta } from "trpc-to-openapi";
import { keyPatternParam, nameParam, projectIdShape, timeFilterShape } from "./shared.js";

// GET /collections/{name}/count (SPEC §9.5): served by trpc-to-openapi. The raw `{key}` routes leave this
// path to it (server/http/raw-routes.ts); a key spelled `count` is read as `/collections/{name}/%63ount`.

export const meta = {
  openapi: {
    operationId: "items.count",
    method: "GET",
    path: "/collections/{name}/count",
    tags: ["items"],
    summary: "Count the items that match, without reading them",
    description:
      "The number of items a GET with the same key pattern and time filters would return, without reading a value. " +
      "`count` here is this route, not a key: to read or delete the key `count`, percent-encode a character of it (`/collections/{name}/%63ount`).",
    protect: true,
    errorResponses: {
      400: "A malformed or unknown parameter",
      401: "Missing or invalid credentials",
      403: "The token cannot read this collection",
      404: "No such collection among those the caller can see",
      409: "The name exists in several of the caller's projects; add project_id",
    },
  },
} satisfies OpenApiMeta;

export const input = z.strictObject({
  name: nameParam,
  key: keyPatternParam.optional().meta({
    description: "Key pattern (SPEC §3.5): `*` matches any run of characters; without it, every key",
  }),
  ...timeFilterShape,
  ...projectIdShape,
});
export type CountItemsInput = z.input<typeof input>;

export const output = z
  .object({ count: z.number().int().meta({ description: "How many items match" }) })
  .meta({ id: "ItemCount" });
export type CountItemsOutput = z.infer<typeof output>;

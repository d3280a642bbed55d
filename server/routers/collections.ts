import * as createCollection from "../../contracts/collections/create-collection.js";
import * as deleteCollection from "../../contracts/collections/delete-collection.js";
import * as listCollections from "../../contracts/collections/list-collections.js";
import * as updateCollection from "../../contracts/collections/update-collection.js";
import {
  createCollectionAs,
  deleteCollectionAs,
  listCollections as list,
  updateCollectionAs,
} from "../services/collections.js";
import { auditCall } from "../observability/audit-request.js";
import { authedProcedure } from "../trpc.js";

// A plain record of procedures, not a router: its type carries no server context (client/app-router.ts).
export const collectionsRouter = {
  list: authedProcedure
    .meta(listCollections.meta)
    .input(listCollections.input)
    .output(listCollections.output)
    .query(({ ctx, input }) => list(ctx.services.db.prisma, ctx.principal, input, ctx.services.env)),

  create: authedProcedure
    .meta(createCollection.meta)
    .input(createCollection.input)
    .output(createCollection.output)
    .mutation(async ({ ctx, input }) => {
      const created = await createCollectionAs(
        ctx.services.db.prisma,
        ctx.principal,
        input.project_id,
        input.name,
        input.default_ttl_seconds ?? undefined,
      );
      auditCall(ctx, "collection.create", {
        project_id: created.project_id,
        collection: created.name,
        collection_id: created.id,
        ...(created.default_ttl_seconds === null ? {} : { default_ttl_seconds: created.default_ttl_seconds }),
      });
      return created;
    }),

  update: authedProcedure
    .meta(updateCollection.meta)
    .input(updateCollection.input)
    .output(updateCollection.output)
    .mutation(async ({ ctx, input }) => {
      const updated = await updateCollectionAs(
        ctx.services.db.prisma,
        ctx.principal,
        input.project_id,
        input.name,
        input.default_ttl_seconds,
      );
      auditCall(ctx, "collection.update", {
        project_id: updated.project_id,
        collection: updated.name,
        collection_id: updated.id,
        default_ttl_seconds: updated.default_ttl_seconds,
      });
      return updated;
    }),

  delete: authedProcedure
    .meta(deleteCollection.meta)
    .input(deleteCollection.input)
    .output(deleteCollection.output)
    .mutation(async ({ ctx, input }) => {
      const deleted = await deleteCollectionAs(
        ctx.services.db.prisma,
        ctx.principal,
        input.project_id,
        input.name,
      );
      auditCall(ctx, "collection.delete", {
        project_id: input.project_id.toLowerCase(),
        collection: input.name,
      });
      return deleted;
    }),
};

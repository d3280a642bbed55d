import * as createCollection from "../../contracts/collections/create-collection.js";
import * as deleteCollection from "../../contracts/collections/delete-collection.js";
import * as listCollections from "../../contracts/collections/list-collections.js";
import { createCollectionAs, deleteCollectionAs, listCollections as list } from "../services/collections.js";
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
      );
      auditCall(ctx, "collection.create", {
        project_id: created.project_id,
        collection: created.name,
        collection_id: created.id,
      });
      return created;
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

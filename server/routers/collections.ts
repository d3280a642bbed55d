import * as createCollection from "../../contracts/collections/create-collection.js";
import * as deleteCollection from "../../contracts/collections/delete-collection.js";
import * as listCollections from "../../contracts/collections/list-collections.js";
import { createCollectionAs, deleteCollectionAs, listCollections as list } from "../services/collections.js";
import { authedProcedure, router } from "../trpc.js";

export const collectionsRouter = router({
  list: authedProcedure
    .meta(listCollections.meta)
    .input(listCollections.input)
    .output(listCollections.output)
    .query(({ ctx, input }) => list(ctx.services.db.prisma, ctx.principal, input, ctx.services.env)),

  create: authedProcedure
    .meta(createCollection.meta)
    .input(createCollection.input)
    .output(createCollection.output)
    .mutation(({ ctx, input }) => createCollectionAs(ctx.services.db.prisma, ctx.principal, input.project_id, input.name)),

  delete: authedProcedure
    .meta(deleteCollection.meta)
    .input(deleteCollection.input)
    .output(deleteCollection.output)
    .mutation(({ ctx, input }) => deleteCollectionAs(ctx.services.db.prisma, ctx.principal, input.project_id, input.name)),
});

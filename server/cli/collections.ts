import { collectionPage, type CollectionSummary } from "../services/collections.js";
import {
  checkCollectionName,
  createCollection,
  deleteCollection,
  findProject,
} from "../services/directory.js";
import { MAX_DEFAULT_TTL_SECONDS } from "../../contracts/collections/default-ttl.js";
import { badRequest } from "../errors.js";
import type { Handlers } from "./handlers.js";
import { exportCheck, importCheck } from "./transfer-checks.js";

const PAGE = 1000;

export const handlers: Handlers = {
  "collection:create": {
    check(f) {
      checkCollectionName(f.name!);
      if (f.ttl !== undefined && Number(f.ttl) > MAX_DEFAULT_TTL_SECONDS)
        throw badRequest(
          `--ttl is at most ${MAX_DEFAULT_TTL_SECONDS} seconds (about 68 years), not ${f.ttl}`,
        );
    },
    async run(f, s) {
      const project = await findProject(s.db.prisma, f.project!);
      const ttl = f.ttl === undefined ? undefined : Number(f.ttl);
      const c = await createCollection(s.db.prisma, project.id, f.name!, ttl);
      s.audit("collection.create", {
        project_id: project.id,
        project: project.name,
        collection: c.name,
        collection_id: c.id,
        ...(ttl === undefined ? {} : { default_ttl_seconds: ttl }),
      });
      return { id: c.id, name: c.name, project_id: c.projectId, default_ttl_seconds: ttl ?? null };
    },
  },
  "collection:list": {
    // The rows and counters of GET /collections (server/services/collections.ts), every page of them.
    async run(f, s) {
      const projects =
        f.project === undefined
          ? await s.db.prisma.project.findMany({ select: { id: true, name: true } })
          : [await findProject(s.db.prisma, f.project)];
      const names = new Map(projects.map((p) => [p.id, p.name]));
      const all: CollectionSummary[] = [];
      if (projects.length > 0) {
        for (;;) {
          const last = all.at(-1);
          const page = await collectionPage(
            s.db.prisma,
            [...names.keys()],
            last && { name: last.name, projectId: last.project_id },
            PAGE,
          );
          all.push(...page);
          if (page.length < PAGE) break;
        }
      }
      return {
        collections: all.map((c) => ({
          name: c.name,
          project_id: c.project_id,
          project: names.get(c.project_id) ?? null,
          items: c.items,
          bytes: c.bytes,
          created: c.created,
          default_ttl_seconds: c.default_ttl_seconds,
        })),
      };
    },
  },
  // SPEC §9.4; the streaming code (and cli-progress) is loaded only by these two.
  "collection:export": {
    check: exportCheck,
    run: async (f, s) => (await import("./transfer.js")).exportCollection(f, s),
    summaryOnStderr: (f) => f.out === undefined,
  },
  "collection:import": {
    check: importCheck,
    run: async (f, s) => (await import("./transfer.js")).importCollection(f, s),
  },
  "collection:delete": {
    async run(f, s) {
      const project = await findProject(s.db.prisma, f.project!);
      const result = await deleteCollection(s.db.prisma, project.id, f.name!);
      s.audit("collection.delete", {
        project_id: project.id,
        project: project.name,
        collection: f.name,
        items: result.items,
      });
      return result;
    },
  },
};

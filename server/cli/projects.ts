import {
  addMember,
  checkEmail,
  checkProjectName,
  checkRole,
  createProject,
  deleteProject,
  listMembers,
  listProjects,
  removeMember,
} from "../services/directory.js";
import type { Handlers } from "./handlers.js";

export const handlers: Handlers = {
  "project:create": {
    check: (f) => void checkProjectName(f.name!),
    async run(f, s) {
      const project = await createProject(s.db.prisma, f.name!);
      s.audit("project.create", { project_id: project.id, project: project.name });
      return project;
    },
  },
  "project:list": {
    run: async (_f, s) => ({ projects: await listProjects(s.db.prisma) }),
  },
  "project:members": {
    run: (f, s) => listMembers(s.db.prisma, f.project!),
  },
  "project:add-member": {
    check(f) {
      checkEmail(f.email!);
      checkRole(f.role!);
    },
    async run(f, s) {
      const m = await addMember(s.db.prisma, f.project!, f.email!, f.role!);
      s.audit("member.add", { ...m, email: checkEmail(f.email!) });
      return m;
    },
  },
  "project:remove-member": {
    check: (f) => void checkEmail(f.email!),
    async run(f, s) {
      const removed = await removeMember(s.db.prisma, f.project!, f.email!);
      s.audit("member.remove", {
        project_id: removed.project_id,
        user_id: removed.user_id,
        email: checkEmail(f.email!),
      });
      return removed;
    },
  },
  "project:delete": {
    async run(f, s) {
      const deleted = await deleteProject(s.db.prisma, f.project!);
      const { id, name, collections, items, members } = deleted;
      s.audit("project.delete", { project_id: id, project: name, collections, items, members });
      return deleted;
    },
  },
};

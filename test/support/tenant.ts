import { randomUUID } from "node:crypto";
import type { Role } from "../../contracts/common.js";
import type { Services } from "../../server/context.js";
import { createCollection } from "../../server/services/directory.js";

export interface TenantUser {
  id: string;
  email: string;
  token: string;
  /** `{ authorization: "Bearer …" }` */
  headers: Record<string, string>;
}

export interface Tenant {
  project: { id: string; name: string };
  /** One member per role, each with a write-scoped token. */
  users: Record<Role, TenantUser>;
  /** A user with no membership in the project. */
  outsider: TenantUser;
  /** Creates a collection in the tenant's project; returns its name. */
  collection(name?: string): Promise<string>;
  cleanup(): Promise<void>;
}

const roles: Role[] = ["owner", "admin", "editor", "viewer"];

/** A project of its own with one user per role: every test makes one and cleans it up. */
export async function createTenant(services: Services): Promise<Tenant> {
  const { prisma } = services.db;
  const tag = randomUUID().slice(0, 8);
  const project = await prisma.project.create({
    data: { name: `test-${tag}` },
    select: { id: true, name: true },
  });
  const userIds: string[] = [];
  const makeUser = async (label: string, role?: Role): Promise<TenantUser> => {
    const email = `${label}-${tag}@test.local`;
    const user = await prisma.user.create({ data: { email }, select: { id: true } });
    userIds.push(user.id);
    if (role) await prisma.membership.create({ data: { userId: user.id, projectId: project.id, role } });
    const { token } = await services.auth.createUserToken({ userId: user.id });
    return { id: user.id, email, token, headers: { authorization: `Bearer ${token}` } };
  };
  const users = {} as Record<Role, TenantUser>;
  for (const role of roles) users[role] = await makeUser(role, role);
  const outsider = await makeUser("outsider");
  let n = 0;
  return {
    project,
    users,
    outsider,
    async collection(name) {
      const c = await createCollection(prisma, project.id, name ?? `c-${tag}-${++n}`);
      return c.name;
    },
    async cleanup() {
      await prisma.project.deleteMany({ where: { id: project.id } });
      await prisma.user.deleteMany({ where: { id: { in: userIds } } });
    },
  };
}

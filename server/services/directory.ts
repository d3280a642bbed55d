import { z } from "zod";
import { collectionNameSchema, roleSchema, type Role, uuidPattern } from "../../contracts/common.js";
import type { PrismaClient } from "../db.js";
import { badRequest, conflict, notFound } from "../errors.js";

// Users, projects, memberships and collections as the admin CLI and the management procedures see them.

const emailSchema = z.email("not a valid email address");
const projectNameSchema = z
  .string()
  .trim()
  .min(1, "a project name cannot be empty")
  .max(200, "a project name has at most 200 characters");

function valid<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw badRequest(
      `Invalid ${what} '${String(value)}': ${r.error.issues.map((i) => i.message).join("; ")}`,
    );
  return r.data;
}

function isUniqueViolation(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "P2002";
}

// The checks of what an operator or a caller gives, before anything is opened: a 400 naming the value.
export const checkEmail = (email: string) => valid(emailSchema, email, "email").toLowerCase();
export const checkProjectName = (name: string) => valid(projectNameSchema, name, "project name");
export const checkCollectionName = (name: string) => valid(collectionNameSchema, name, "collection name");
export const checkRole = (role: string): Role => valid(roleSchema, role, "role");

const iso = (d: Date) => d.toISOString();

export async function createUser(prisma: PrismaClient, email: string) {
  const address = checkEmail(email);
  try {
    const user = await prisma.user.create({ data: { email: address }, select: { id: true, email: true } });
    return user;
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(`A user with email '${address}' already exists`);
    throw e;
  }
}

export async function findUserByEmail(prisma: PrismaClient, email: string) {
  const address = checkEmail(email);
  const user = await prisma.user.findUnique({
    where: { email: address },
    select: { id: true, email: true, disabled: true },
  });
  if (!user) throw notFound(`No user with email '${address}'`);
  return user;
}

export async function setUserDisabled(prisma: PrismaClient, email: string, disabled: boolean) {
  const user = await findUserByEmail(prisma, email);
  await prisma.user.update({ where: { id: user.id }, data: { disabled } });
  return { id: user.id, email: user.email, disabled };
}

export async function createProject(prisma: PrismaClient, name: string) {
  const projectName = checkProjectName(name);
  try {
    return await prisma.project.create({ data: { name: projectName }, select: { id: true, name: true } });
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(`A project named '${projectName}' already exists`);
    throw e;
  }
}

/** A project by id or by name. */
export async function findProject(prisma: PrismaClient, nameOrId: string) {
  const project = await prisma.project.findFirst({
    where: uuidPattern.test(nameOrId)
      ? { OR: [{ id: nameOrId.toLowerCase() }, { name: nameOrId }] }
      : { name: nameOrId },
    select: { id: true, name: true },
  });
  if (!project) throw notFound(`No project '${nameOrId}'`);
  return project;
}

export async function addMember(prisma: PrismaClient, projectNameOrId: string, email: string, role: string) {
  const r = checkRole(role);
  const project = await findProject(prisma, projectNameOrId);
  const user = await findUserByEmail(prisma, email);
  const m = await prisma.membership.upsert({
    where: { userId_projectId: { userId: user.id, projectId: project.id } },
    create: { userId: user.id, projectId: project.id, role: r },
    update: { role: r },
    select: { projectId: true, userId: true, role: true },
  });
  return { project_id: m.projectId, user_id: m.userId, role: m.role };
}

/** `defaultTtlSeconds`: the TTL of items written without one (SPEC §9.2); none when undefined. */
export async function createCollection(
  prisma: PrismaClient,
  projectIdAsGiven: string,
  name: string,
  defaultTtlSeconds?: number,
) {
  const collectionName = checkCollectionName(name);
  const projectId = projectIdAsGiven.toLowerCase(); // a UUID in any letter case (SPEC §2)
  try {
    if (defaultTtlSeconds !== undefined) {
      // One transaction: the collection never exists without the TTL it was created with. (Set in SQL,
      // as every other read and write of the column is.)
      return await prisma.$transaction(async (tx) => {
        const c = await tx.collection.create({
          data: { projectId, name: collectionName },
          select: { id: true, name: true, projectId: true, createdAt: true },
        });
        await tx.$executeRaw`UPDATE collections SET default_ttl_seconds = ${defaultTtlSeconds}::int WHERE id = ${c.id}::uuid`;
        return c;
      });
    }
    const c = await prisma.collection.create({
      data: { projectId, name: collectionName },
      select: { id: true, name: true, projectId: true, createdAt: true },
    });
    return c;
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(`Collection '${collectionName}' already exists in this project`);
    throw e;
  }
}

/** Every user, by email, with the number of projects they are a member of. */
export async function listUsers(prisma: PrismaClient) {
  const users = await prisma.user.findMany({
    orderBy: { email: "asc" },
    select: {
      id: true,
      email: true,
      disabled: true,
      createdAt: true,
      _count: { select: { memberships: true } },
    },
  });
  return users.map((u) => ({
    id: u.id,
    email: u.email,
    disabled: u.disabled,
    created: iso(u.createdAt),
    projects: u._count.memberships,
  }));
}

/** Every project, by name, with its numbers of members and collections. */
export async function listProjects(prisma: PrismaClient) {
  const projects = await prisma.project.findMany({
    orderBy: { name: "asc" },
    select: {
      id: true,
      name: true,
      createdAt: true,
      _count: { select: { memberships: true, collections: true } },
    },
  });
  return projects.map((p) => ({
    id: p.id,
    name: p.name,
    created: iso(p.createdAt),
    members: p._count.memberships,
    collections: p._count.collections,
  }));
}

/** A project (by name or id) and its members, by email. */
export async function listMembers(prisma: PrismaClient, projectNameOrId: string) {
  const project = await findProject(prisma, projectNameOrId);
  const members = await prisma.membership.findMany({
    where: { projectId: project.id },
    orderBy: { user: { email: "asc" } },
    select: { role: true, createdAt: true, user: { select: { id: true, email: true, disabled: true } } },
  });
  return {
    project,
    members: members.map((m) => ({
      user_id: m.user.id,
      email: m.user.email,
      role: m.role,
      disabled: m.user.disabled,
      added: iso(m.createdAt),
    })),
  };
}

export async function removeMember(prisma: PrismaClient, projectNameOrId: string, email: string) {
  const project = await findProject(prisma, projectNameOrId);
  const user = await findUserByEmail(prisma, email);
  const { count } = await prisma.membership.deleteMany({ where: { userId: user.id, projectId: project.id } });
  if (count === 0) throw notFound(`'${user.email}' is not a member of project '${project.name}'`);
  return { project_id: project.id, user_id: user.id, removed: true as const };
}

// Deleting what holds items counts the items it removes exactly: in one transaction, the collections
// are locked first (a concurrent write into them waits on its foreign-key check, then fails as the
// collection is gone), their items deleted and counted, then the rows themselves (the counters and
// memberships go by cascade). No statement timeout: an operator's deletion may be large.
const deletionTx = { maxWait: 60_000, timeout: 24 * 3600_000 };

async function deleteItemsOf(
  tx: Pick<PrismaClient, "$queryRaw" | "$executeRaw">,
  collectionIds: string[],
): Promise<number> {
  if (collectionIds.length === 0) return 0;
  // Tombstones and expired items go too, uncounted: they no longer existed for any reader.
  const [row] = await tx.$queryRaw<{ n: number }[]>`
    WITH gone AS (
      DELETE FROM items WHERE collection_id = ANY(${collectionIds}::uuid[])
      RETURNING value IS NOT NULL AND (expires IS NULL OR expires > clock_timestamp()) AS live)
    SELECT (count(*) FILTER (WHERE live))::int AS n FROM gone`;
  // The change log has no foreign key (prisma/schema.prisma, ItemChange): its rows go here.
  await tx.$executeRaw`DELETE FROM item_changes WHERE collection_id = ANY(${collectionIds}::uuid[])`;
  return row!.n;
}

/** Deletes a collection and its items (and, by cascade, its counters); says how many items it removed. */
export async function deleteCollection(prisma: PrismaClient, projectId: string, name: string) {
  const items = await prisma.$transaction(async (tx) => {
    const found = await tx.$queryRaw<{ id: string }[]>`
      SELECT id::text AS id FROM collections WHERE project_id = ${projectId.toLowerCase()}::uuid AND name = ${name} FOR UPDATE`;
    if (found.length === 0) throw notFound(`Collection '${name}' not found`);
    const removed = await deleteItemsOf(tx, [found[0]!.id]);
    await tx.$executeRaw`DELETE FROM collections WHERE id = ${found[0]!.id}::uuid`;
    return removed;
  }, deletionTx);
  return { deleted: true as const, items };
}

/** Deletes a project (by name or id) with its memberships, collections and items; says how many of each went. */
export async function deleteProject(prisma: PrismaClient, projectNameOrId: string) {
  const project = await findProject(prisma, projectNameOrId);
  const counts = await prisma.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<
      { id: string }[]
    >`SELECT id::text AS id FROM projects WHERE id = ${project.id}::uuid FOR UPDATE`;
    if (locked.length === 0) throw notFound(`No project '${projectNameOrId}'`);
    const collections = await tx.$queryRaw<{ id: string }[]>`
      SELECT id::text AS id FROM collections WHERE project_id = ${project.id}::uuid FOR UPDATE`;
    const items = await deleteItemsOf(
      tx,
      collections.map((c) => c.id),
    );
    const members = await tx.membership.count({ where: { projectId: project.id } });
    await tx.$executeRaw`DELETE FROM projects WHERE id = ${project.id}::uuid`;
    return { collections: collections.length, items, members };
  }, deletionTx);
  return { id: project.id, name: project.name, deleted: true as const, ...counts };
}

import { z } from "zod";
import { collectionNameSchema, roleSchema, type Role, uuidPattern } from "../../contracts/common.js";
import type { PrismaClient } from "../db.js";
import { badRequest, conflict, notFound } from "../errors.js";

// Users, projects, memberships and collections as the admin CLI and the management procedures see them.

const emailSchema = z.email("not a valid email address");
const projectNameSchema = z.string().trim().min(1, "a project name cannot be empty").max(200, "a project name has at most 200 characters");

function valid<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw badRequest(`Invalid ${what} '${String(value)}': ${r.error.issues.map((i) => i.message).join("; ")}`);
  return r.data;
}

function isUniqueViolation(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "P2002";
}


export async function createUser(prisma: PrismaClient, email: string) {
  const address = valid(emailSchema, email, "email").toLowerCase();
  try {
    const user = await prisma.user.create({ data: { email: address }, select: { id: true, email: true } });
    return user;
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(`A user with email '${address}' already exists`);
    throw e;
  }
}

export async function findUserByEmail(prisma: PrismaClient, email: string) {
  const address = valid(emailSchema, email, "email").toLowerCase();
  const user = await prisma.user.findUnique({ where: { email: address }, select: { id: true, email: true, disabled: true } });
  if (!user) throw notFound(`No user with email '${address}'`);
  return user;
}

export async function setUserDisabled(prisma: PrismaClient, email: string, disabled: boolean) {
  const user = await findUserByEmail(prisma, email);
  await prisma.user.update({ where: { id: user.id }, data: { disabled } });
  return { id: user.id, email: user.email, disabled };
}

export async function createProject(prisma: PrismaClient, name: string) {
  const projectName = valid(projectNameSchema, name, "project name");
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
    where: uuidPattern.test(nameOrId) ? { OR: [{ id: nameOrId.toLowerCase() }, { name: nameOrId }] } : { name: nameOrId },
    select: { id: true, name: true },
  });
  if (!project) throw notFound(`No project '${nameOrId}'`);
  return project;
}

export async function addMember(prisma: PrismaClient, projectNameOrId: string, email: string, role: string) {
  const r: Role = valid(roleSchema, role, "role");
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

export async function createCollection(prisma: PrismaClient, projectIdAsGiven: string, name: string) {
  const collectionName = valid(collectionNameSchema, name, "collection name");
  const projectId = projectIdAsGiven.toLowerCase(); // a UUID in any letter case (SPEC §2)
  try {
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

/** Deletes a collection and all its items (and, by cascade, its counters). */
export async function deleteCollection(prisma: PrismaClient, projectId: string, name: string) {
  const { count } = await prisma.collection.deleteMany({ where: { projectId: projectId.toLowerCase(), name } });
  if (count === 0) throw notFound(`Collection '${name}' not found`);
  return { deleted: true as const };
}


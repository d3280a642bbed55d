import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDataDir } from "../support/services.js";
import { runCli } from "../support/process.js";
import { auditLines, cliFails, cliOk, removeFromPostgres } from "../support/admin-cli.js";

// project:create, project:list, project:members, project:add-member, project:remove-member and
// project:delete on the test storage (embedded: the CLI opens the data directory itself).

const dataDir = freshDataDir();
const env = { DATA_DIR: dataDir };
const tag = randomUUID().slice(0, 8);
const owner = `owner-${tag}@test.local`;
const editor = `editor-${tag}@test.local`;
const projectName = `cli-project-${tag}`;

afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await removeFromPostgres(`%-${tag}@test.local`, `%-${tag}%`);
});

interface ProjectRow {
  id: string;
  name: string;
  created: string;
  members: number;
  collections: number;
}

describe("admin CLI: projects and members", { timeout: 240_000 }, () => {
  let projectId: string;
  let ownerId: string;
  let editorId: string;

  beforeAll(async () => {
    ownerId = (await cliOk<{ id: string }>(env, ["user:create", "--email", owner])).id;
    editorId = (await cliOk<{ id: string }>(env, ["user:create", "--email", editor])).id;
  });

  it("project:create prints {id, name}, audits it, and refuses a duplicate name", async () => {
    const r = await runCli(["project:create", "--name", projectName], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: projectName });
    projectId = (r.json as { id: string }).id;
    expect(auditLines(r)).toMatchObject([
      {
        action: "project.create",
        actor: { kind: "cli" },
        target: { project_id: projectId, project: projectName },
      },
    ]);
    await cliFails(env, ["project:create", "--name", projectName], 1, /A project named '.*' already exists/);
  });

  it("project:add-member takes the project by name or id, changes a role, and audits each change", async () => {
    const byName = await runCli(
      ["project:add-member", "--project", projectName, "--email", owner, "--role", "owner"],
      env,
    );
    expect(byName.json).toEqual({ project_id: projectId, user_id: ownerId, role: "owner" });
    expect(auditLines(byName)).toMatchObject([
      {
        action: "member.add",
        target: { project_id: projectId, user_id: ownerId, role: "owner", email: owner },
      },
    ]);
    expect(
      await cliOk(env, [
        "project:add-member",
        "--project",
        projectId.toUpperCase(),
        "--email",
        editor,
        "--role",
        "viewer",
      ]),
    ).toEqual({
      project_id: projectId,
      user_id: editorId,
      role: "viewer",
    });
    expect(
      await cliOk(env, ["project:add-member", "--project", projectId, "--email", editor, "--role", "editor"]),
    ).toMatchObject({ role: "editor" });

    await cliFails(
      env,
      ["project:add-member", "--project", `nope-${tag}`, "--email", owner, "--role", "viewer"],
      1,
      /No project 'nope-/,
    );
    await cliFails(
      env,
      [
        "project:add-member",
        "--project",
        projectName,
        "--email",
        `ghost-${tag}@test.local`,
        "--role",
        "viewer",
      ],
      1,
      /No user with email/,
    );
  });

  it("project:members lists the members by email with their roles; project:list counts them", async () => {
    const listed = await cliOk(env, ["project:members", "--project", projectName]);
    expect(listed).toEqual({
      project: { id: projectId, name: projectName },
      members: [
        {
          user_id: editorId,
          email: editor,
          role: "editor",
          disabled: false,
          added: expect.stringMatching(/Z$/),
        },
        {
          user_id: ownerId,
          email: owner,
          role: "owner",
          disabled: false,
          added: expect.stringMatching(/Z$/),
        },
      ],
    });
    await cliOk(env, ["collection:create", "--project", projectName, "--name", "first"]);
    await cliOk(env, ["project:create", "--name", `${projectName}-b`]);
    const { projects } = await cliOk<{ projects: ProjectRow[] }>(env, ["project:list"]);
    const mine = projects.filter((p) => p.name.startsWith(projectName));
    expect(mine).toEqual([
      { id: projectId, name: projectName, created: expect.stringMatching(/Z$/), members: 2, collections: 1 },
      {
        id: expect.any(String),
        name: `${projectName}-b`,
        created: expect.stringMatching(/Z$/),
        members: 0,
        collections: 0,
      },
    ]);
    await cliFails(env, ["project:members", "--project", `nope-${tag}`], 1, /No project/);
  });

  it("project:remove-member removes one membership, audited; removing a non-member is exit 1", async () => {
    const r = await runCli(["project:remove-member", "--project", projectName, "--email", editor], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({ project_id: projectId, user_id: editorId, removed: true });
    expect(auditLines(r)).toMatchObject([
      { action: "member.remove", target: { project_id: projectId, user_id: editorId, email: editor } },
    ]);
    const { members } = await cliOk<{ members: { email: string }[] }>(env, [
      "project:members",
      "--project",
      projectName,
    ]);
    expect(members.map((m) => m.email)).toEqual([owner]);
    await cliFails(
      env,
      ["project:remove-member", "--project", projectName, "--email", editor],
      1,
      /is not a member of project/,
    );
  });

  it("project:delete needs --yes (exit 2, nothing deleted), then deletes the project with what it holds", async () => {
    await cliFails(env, ["project:delete", "--project", projectName], 2, /add --yes to confirm/);
    expect(
      (await cliOk<{ projects: ProjectRow[] }>(env, ["project:list"])).projects.some(
        (p) => p.id === projectId,
      ),
    ).toBe(true);

    const r = await runCli(["project:delete", "--project", projectName, "--yes"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({
      id: projectId,
      name: projectName,
      deleted: true,
      collections: 1,
      items: 0,
      members: 1,
    });
    expect(auditLines(r)).toMatchObject([
      { action: "project.delete", target: { project_id: projectId, project: projectName, collections: 1 } },
    ]);
    const { projects } = await cliOk<{ projects: ProjectRow[] }>(env, ["project:list"]);
    expect(projects.some((p) => p.id === projectId)).toBe(false);
    const { users } = await cliOk<{ users: { id: string; projects: number }[] }>(env, ["user:list"]);
    expect(users.find((u) => u.id === ownerId)?.projects).toBe(0);
    await cliFails(env, ["project:delete", "--project", projectId, "--yes"], 1, /No project/);
  });
});

import type { Role, TokenScope } from "../../contracts/common.js";

/** Who a request acts for, as established from its bearer token (server/auth). */
export type Principal =
  | {
      kind: "user";
      userId: string;
      email: string;
      /** The access token's id (its `jti`). */
      tokenId: string;
      scope: TokenScope;
      /** project id → role, read when the token was verified. */
      memberships: ReadonlyMap<string, Role>;
    }
  | {
      kind: "run";
      runId: string;
      projectId: string;
      scope: "write";
    };

/** What an action on a collection needs (SPEC §2's table). */
export type Action = "read" | "write" | "deleteAll" | "manage";

const roleAllows: Record<Role, ReadonlySet<Action>> = {
  viewer: new Set(["read"]),
  editor: new Set(["read", "write"]),
  admin: new Set(["read", "write", "deleteAll", "manage"]),
  owner: new Set(["read", "write", "deleteAll", "manage"]),
};

/** Run tokens read and write every collection of their project; they manage nothing. */
const runAllows: ReadonlySet<Action> = new Set(["read", "write", "deleteAll"]);

/** The projects whose collections the principal can see. */
export function visibleProjects(p: Principal): string[] {
  return p.kind === "run" ? [p.projectId] : [...p.memberships.keys()];
}

/** Whether the principal may do `action` in `projectId` (visibility is checked separately). */
export function may(p: Principal, projectId: string, action: Action): boolean {
  if (p.scope === "read" && action !== "read") return false;
  if (p.kind === "run") return p.projectId === projectId && runAllows.has(action);
  const role = p.memberships.get(projectId);
  return role !== undefined && roleAllows[role].has(action);
}

import type { Role, TokenScope } from "../../contracts/common.js";
import type { ItemRow } from "../services/items.js";

/** Who a request acts for, as established from its bearer token (server/auth). */
export type Principal =
  | {
      kind: "user";
      userId: string;
      email: string;
      /** The access token's id (its `jti`). */
      tokenId: string;
      scope: TokenScope;
      /**
       * When the access token expires (null: never), read with the token. Tokens created with this one
       * never outlive it (SPEC §2, server/services/tokens.ts).
       */
      expiresAt: Date | null;
      /** project id → role, read when the token was verified. */
      memberships: ReadonlyMap<string, Role>;
      /** What the request names, read in the token's statement (CollectionLookahead). */
      lookahead?: LookaheadResult;
    }
  | {
      kind: "run";
      runId: string;
      projectId: string;
      scope: "write";
    };

/**
 * The collection a request names (its path and `project_id`), given to the token check so that one
 * statement reads the token, the user and the candidate collections (server/services/access.ts uses
 * them when the names match). Taken from the raw request: it only saves a round trip, it decides nothing.
 */
export interface CollectionLookahead {
  name: string;
  /** As the request gives it (a UUID in either case), or undefined. */
  projectId: string | undefined;
  /** An exact key the request reads: the item is read along when exactly one collection matches. */
  key?: string;
}

/** What was read for a CollectionLookahead; `projectId` here is in lower case. */
export interface LookaheadResult extends CollectionLookahead {
  /** The collections of that name in the user's projects (at most two: more than one is ambiguous). */
  found: { id: string; name: string; projectId: string }[];
  /** With `key` and exactly one collection found: the item (null when the key is absent). */
  item?: ItemRow | null;
}

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

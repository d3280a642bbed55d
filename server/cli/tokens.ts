import { uuidPattern } from "../../contracts/common.js";
import { badRequest, notFound } from "../errors.js";
import { findProject, findUserByEmail, checkEmail } from "../services/directory.js";
import { tokenInfo } from "../services/tokens.js";
import type { Handlers } from "./handlers.js";

const seconds = (value: string | undefined) => (value === undefined ? undefined : Number(value));

function tokenState(t: {
  revoked_at: string | null;
  expires_at: string | null;
}): "active" | "expired" | "revoked" {
  if (t.revoked_at) return "revoked";
  if (t.expires_at && Date.parse(t.expires_at) <= Date.now()) return "expired";
  return "active";
}

export const handlers: Handlers = {
  "token:create": {
    check: (f) => void checkEmail(f.email!),
    async run(f, s) {
      const user = await findUserByEmail(s.db.prisma, f.email!);
      const scope = f.scope === "read" ? "read" : "write";
      const t = await (
        await s.auth()
      ).createUserToken({
        userId: user.id,
        scope,
        expiresInSeconds: seconds(f["expires-in"]),
        label: f.label ?? "",
      });
      const expires_at = t.expiresAt?.toISOString() ?? null;
      s.audit("token.create", { token_id: t.id, user_id: user.id, email: user.email, scope, expires_at });
      return { id: t.id, token: t.token };
    },
  },
  "token:list": {
    check: (f) => void checkEmail(f.email!),
    async run(f, s) {
      const user = await findUserByEmail(s.db.prisma, f.email!);
      // Straight from the rows: listing loads no signing key.
      const { listUserTokens } = await import("../auth/user-tokens.js");
      const tokens = (await listUserTokens(s.db.prisma, user.id)).map(tokenInfo);
      return {
        user: { id: user.id, email: user.email },
        tokens: tokens.map(({ id, label, scope, ...dates }) => ({
          id,
          label,
          scope,
          state: tokenState(dates),
          ...dates,
        })),
      };
    },
  },
  "token:revoke": {
    check(f) {
      if (!uuidPattern.test(f.id!))
        throw badRequest(
          `Invalid token id '${f.id}': a token id is a UUID (from token:create or token:list)`,
        );
    },
    async run(f, s) {
      const { revokeUserToken } = await import("../auth/user-tokens.js");
      const id = f.id!.toLowerCase();
      if (!(await revokeUserToken(s.db.prisma, id))) throw notFound(`No token with id '${id}'`);
      s.audit("token.revoke", { token_id: id });
      return { id, revoked: true };
    },
  },
  "run-token:create": {
    async run(f, s) {
      const project = await findProject(s.db.prisma, f.project!);
      const t = await (
        await s.auth()
      ).createRunToken({ projectId: project.id, runId: f.run, ttlSeconds: seconds(f.ttl) });
      const expires_at = t.expiresAt.toISOString();
      s.audit("run_token.create", {
        project_id: project.id,
        project: project.name,
        run_id: t.runId,
        expires_at,
      });
      return { token: t.token, expires_at, run_id: t.runId, project_id: project.id };
    },
  },
};

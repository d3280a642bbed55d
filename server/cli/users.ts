import { checkEmail, createUser, listUsers, setUserDisabled } from "../services/directory.js";
import type { Handlers } from "./handlers.js";

const checkEmailFlag = (f: Record<string, string>) => void checkEmail(f.email!);

export const handlers: Handlers = {
  "user:create": {
    check: checkEmailFlag,
    async run(f, s) {
      const user = await createUser(s.db.prisma, f.email!);
      s.audit("user.create", { user_id: user.id, email: user.email });
      return user;
    },
  },
  "user:list": {
    run: async (_f, s) => ({ users: await listUsers(s.db.prisma) }),
  },
  "user:disable": {
    check: checkEmailFlag,
    async run(f, s) {
      const user = await setUserDisabled(s.db.prisma, f.email!, true);
      s.audit("user.disable", { user_id: user.id, email: user.email });
      return user;
    },
  },
  "user:enable": {
    check: checkEmailFlag,
    async run(f, s) {
      const user = await setUserDisabled(s.db.prisma, f.email!, false);
      s.audit("user.enable", { user_id: user.id, email: user.email });
      return user;
    },
  },
};

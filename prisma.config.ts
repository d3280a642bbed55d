import { defineConfig } from "prisma/config";

// Only `prisma generate` reads this file; the service itself migrates through server/migrate.ts.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});

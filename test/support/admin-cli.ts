import { expect } from "vitest";
import pg from "pg";
import { testEnv } from "./env.js";
import { runCli, type CliOptions, type CliResult } from "./process.js";

// Helpers of the admin CLI tests (test/http/admin-cli-*.test.ts).

/** Runs the CLI with `env` and expects success: exit 0, one JSON document on stdout, the storage note. */
export async function cliOk<T = Record<string, unknown>>(
  env: Record<string, string | undefined>,
  args: string[],
  options?: CliOptions,
): Promise<T> {
  const r = await runCli(args, env, options);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  expect(r.json, `${args.join(" ")} stdout: ${r.stdout}`).toBeDefined();
  expect(r.stderr).toMatch(/^collections-admin: storage (postgresql|embedded) /);
  return r.json as T;
}

/** Runs the CLI with `env` and expects a failure with `code`, nothing on stdout, `message` on stderr. */
export async function cliFails(
  env: Record<string, string | undefined>,
  args: string[],
  code: 1 | 2,
  message: RegExp,
): Promise<CliResult> {
  const r = await runCli(args, env);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(code);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(message);
  return r;
}

/** The audit lines a call wrote on stderr. */
export const auditLines = (r: CliResult) => r.stderrJson.filter((l) => l.audit === true);

/** On the PostgreSQL server: removes the users and projects a test file made (by name prefix). */
export async function removeFromPostgres(emailPattern: string, projectPattern: string): Promise<void> {
  const url = testEnv().DATABASE_URL;
  if (!url) return;
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await pool.query("DELETE FROM projects WHERE name LIKE $1", [projectPattern]);
    await pool.query("DELETE FROM users WHERE email LIKE $1", [emailPattern]);
  } finally {
    await pool.end();
  }
}

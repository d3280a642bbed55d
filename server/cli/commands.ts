// The admin CLI's commands as data: flags, allowed values, output shape and examples. The parser
// (args.ts) and the help (help.ts) read it; the handlers live in one module per group, loaded on demand
// (handlers.ts) so that `--help` and usage errors never load the database drivers.

/** Kept equal to contracts/common.ts (roleSchema, tokenScopeSchema) by test/unit/admin-cli-args.test.ts. */
export const ROLES = ["owner", "admin", "editor", "viewer"] as const;
export const SCOPES = ["read", "write"] as const;

export type Group = "users" | "projects" | "collections" | "tokens";

export interface FlagSpec {
  name: string;
  /** The value's placeholder in usage lines (EMAIL, SECONDS…); none for a switch (a required one confirms). */
  value?: string;
  required?: boolean;
  /** The only values accepted. */
  choices?: readonly string[];
  /** A positive whole number of seconds. */
  seconds?: boolean;
  /** Whether "" is a value (otherwise it is a usage error). */
  allowEmpty?: boolean;
  help: string;
}

export interface CommandSpec {
  name: string;
  group: Group;
  summary: string;
  flags: FlagSpec[];
  /** The shape of the JSON document on stdout. */
  prints: string;
  examples: string[];
  /** May set up a new database where there is none (a first-time operator's commands). */
  createsDatabase?: boolean;
  notes?: string[];
}

const email: FlagSpec = {
  name: "email",
  value: "EMAIL",
  required: true,
  help: "the user's email address (any letter case)",
};
const project: FlagSpec = {
  name: "project",
  value: "PROJECT",
  required: true,
  help: "the project's name or id",
};
const collection: FlagSpec = { name: "name", value: "NAME", required: true, help: "the collection's name" };

export const commands: readonly CommandSpec[] = [
  {
    name: "user:create",
    group: "users",
    summary: "create a user",
    flags: [{ ...email, help: "the new user's email address (stored in lower case)" }],
    prints: '{"id", "email"}',
    examples: ["user:create --email ada@example.org"],
    createsDatabase: true,
  },
  {
    name: "user:list",
    group: "users",
    summary: "list every user, by email",
    flags: [],
    prints:
      '{"users": [{"id", "email", "disabled", "created", "projects"}]}  (projects: how many the user is a member of)',
    examples: ["user:list", "user:list | jq -r '.users[].email'"],
  },
  {
    name: "user:disable",
    group: "users",
    summary: "refuse every token of a user from the next request on",
    flags: [email],
    prints: '{"id", "email", "disabled": true}',
    examples: ["user:disable --email ada@example.org"],
  },
  {
    name: "user:enable",
    group: "users",
    summary: "accept a disabled user's tokens again",
    flags: [email],
    prints: '{"id", "email", "disabled": false}',
    examples: ["user:enable --email ada@example.org"],
  },
  {
    name: "project:create",
    group: "projects",
    summary: "create a project",
    flags: [
      {
        name: "name",
        value: "NAME",
        required: true,
        help: "the project's name (unique, 1 to 200 characters)",
      },
    ],
    prints: '{"id", "name"}',
    examples: ["project:create --name clinic"],
    createsDatabase: true,
  },
  {
    name: "project:list",
    group: "projects",
    summary: "list every project, by name",
    flags: [],
    prints: '{"projects": [{"id", "name", "created", "members", "collections"}]}  (counts)',
    examples: ["project:list"],
  },
  {
    name: "project:members",
    group: "projects",
    summary: "list a project's members, by email",
    flags: [project],
    prints: '{"project": {"id", "name"}, "members": [{"user_id", "email", "role", "disabled", "added"}]}',
    examples: ["project:members --project clinic"],
  },
  {
    name: "project:add-member",
    group: "projects",
    summary: "add a user to a project, or change their role",
    flags: [
      project,
      email,
      { name: "role", value: "ROLE", required: true, choices: ROLES, help: "what the member may do" },
    ],
    prints: '{"project_id", "user_id", "role"}',
    examples: ["project:add-member --project clinic --email ada@example.org --role owner"],
  },
  {
    name: "project:remove-member",
    group: "projects",
    summary: "remove a user from a project",
    flags: [project, email],
    prints: '{"project_id", "user_id", "removed": true}',
    examples: ["project:remove-member --project clinic --email ada@example.org"],
  },
  {
    name: "project:delete",
    group: "projects",
    summary: "delete a project with its memberships, collections and items",
    flags: [project, { name: "yes", required: true, help: "confirms the deletion, which cannot be undone" }],
    prints: '{"id", "name", "deleted": true, "collections", "items", "members"}  (how many were removed)',
    examples: ["project:delete --project clinic --yes"],
  },
  {
    name: "collection:create",
    group: "collections",
    summary: "create a collection in a project",
    flags: [
      project,
      {
        ...collection,
        help: "lower-case letters and digits separated by single '-', '_' or '.'; at most 64",
      },
      {
        name: "ttl",
        value: "SECONDS",
        seconds: true,
        help: "default TTL: items written without their own expire this long after the write (default: none)",
      },
    ],
    prints: '{"id", "name", "project_id", "default_ttl_seconds"}  (null without --ttl)',
    examples: [
      "collection:create --project clinic --name patients",
      "collection:create --project clinic --name sessions --ttl 86400",
    ],
    notes: [
      "The default TTL applies to writes made after it is set. Change or remove it later through the API:",
      'PATCH /projects/{project_id}/collections/{name} with {"default_ttl_seconds": SECONDS|null}.',
    ],
  },
  {
    name: "collection:list",
    group: "collections",
    summary: "list collections (of one project, or all) with their item counts and stored bytes",
    flags: [{ ...project, required: false, help: "only this project's (name or id)" }],
    prints:
      '{"collections": [{"name", "project_id", "project", "items", "bytes", "created", "default_ttl_seconds"}]}  (by name)',
    examples: ["collection:list --project clinic", "collection:list | jq '[.collections[].bytes] | add'"],
  },
  {
    name: "collection:delete",
    group: "collections",
    summary: "delete a collection and all its items",
    flags: [project, collection],
    prints: '{"deleted": true, "items"}  (items: how many were removed)',
    examples: ["collection:delete --project clinic --name patients"],
  },
  {
    name: "collection:export",
    group: "collections",
    summary: "write a collection's items as NDJSON (one {key, value, created, updated, version} per line)",
    flags: [
      project,
      collection,
      {
        name: "out",
        value: "FILE",
        help: "write the lines to FILE (replaced; removed again if the export fails); default: stdout",
      },
      { name: "key", value: "PATTERN", help: "only the keys matching PATTERN ('*' matches any characters)" },
    ],
    prints:
      '{"exported", "file"} with --out; without it stdout is the NDJSON itself and that summary goes to stderr',
    examples: [
      "collection:export --project clinic --name patients --out patients.ndjson",
      "collection:export --project clinic --name patients --key 'patient-*' | gzip > patients.ndjson.gz",
      "collection:export --project clinic --name patients | collections-admin collection:import --project staging --name patients",
    ],
    notes: [
      "Progress goes to stderr: a bar (items, items/s, ETA) when stderr is a terminal, otherwise one JSON",
      'line {"progress": {"items", "rate", "total", …}} at most once a second, and one at the end.',
    ],
  },
  {
    name: "collection:import",
    group: "collections",
    summary: "write NDJSON lines of {key, value} (an export's lines) into a collection",
    flags: [
      project,
      collection,
      { name: "file", value: "FILE", help: "the NDJSON to read; default: stdin" },
      {
        name: "mode",
        value: "MODE",
        choices: ["upsert", "create-only"],
        help: "upsert (default) writes every valid line; create-only skips keys that exist",
      },
      {
        name: "atomic",
        help: "all or nothing, in one transaction: nothing is written if a line is refused (at most IMPORT_ATOMIC_MAX_ITEMS lines)",
      },
    ],
    prints:
      '{"upserted", "created", "skipped", "errors": [{"line", "message"}], "error_count"}  (the first 100 errors; exit 1 when nothing was written because of them)',
    examples: [
      "collection:import --project clinic --name patients --file patients.ndjson",
      "collection:import --project clinic --name patients --file seed.ndjson --mode create-only --atomic",
      "gunzip -c patients.ndjson.gz | collections-admin collection:import --project clinic --name patients",
    ],
    notes: [
      "Progress goes to stderr: a bar (items, items/s, ETA from the file's size) when stderr is a terminal,",
      'otherwise one JSON line {"progress": {"items", "rate", "bytes", …}} at most once a second, and one at',
      "the end. On an embedded DATA_DIR, a pipe between two commands needs the server running (one process",
      "at a time opens the directory); a file does not.",
    ],
  },
  {
    name: "token:create",
    group: "tokens",
    summary: "create an access token for a user (printed once, never stored)",
    flags: [
      email,
      {
        name: "scope",
        value: "SCOPE",
        choices: SCOPES,
        help: "read: reads only; write (default): what the user's roles allow",
      },
      {
        name: "expires-in",
        value: "SECONDS",
        seconds: true,
        help: "lifetime in seconds (default: no expiry)",
      },
      { name: "label", value: "TEXT", allowEmpty: true, help: "a note shown by token:list" },
    ],
    prints: '{"id", "token"}',
    examples: ["token:create --email ada@example.org --scope read --expires-in 86400 --label laptop"],
  },
  {
    name: "token:list",
    group: "tokens",
    summary: "list a user's tokens, newest first (ids and dates only, never a token)",
    flags: [email],
    prints:
      '{"user": {"id", "email"}, "tokens": [{"id", "label", "scope", "state", "created", "expires_at", "last_used_at", "revoked_at"}]}' +
      "  (state: active, expired or revoked)",
    examples: ["token:list --email ada@example.org"],
  },
  {
    name: "token:revoke",
    group: "tokens",
    summary: "revoke a token: refused from the next request on (revoking twice is fine)",
    flags: [
      {
        name: "id",
        value: "TOKEN_ID",
        required: true,
        help: "the token's id (from token:create or token:list)",
      },
    ],
    prints: '{"id", "revoked": true}',
    examples: ["token:revoke --id 0b6f8c1e-3f4a-4a8e-9a57-2f1f0c7d9b42"],
  },
  {
    name: "run-token:create",
    group: "tokens",
    summary: "mint a short-lived run token for one project (for a workflow run)",
    flags: [
      project,
      {
        name: "run",
        value: "RUN_ID",
        help: "the run's id, 1 to 200 characters without spaces (default: a random UUID)",
      },
      {
        name: "ttl",
        value: "SECONDS",
        seconds: true,
        help: "lifetime in seconds (default RUN_TOKEN_TTL_SECONDS, at most RUN_TOKEN_MAX_TTL_SECONDS)",
      },
    ],
    prints: '{"token", "expires_at", "run_id", "project_id"}',
    examples: ["run-token:create --project clinic --run run-42 --ttl 600"],
  },
];

export const commandNamed = (name: string): CommandSpec | undefined => commands.find((c) => c.name === name);

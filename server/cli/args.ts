import { commandNamed, commands, type CommandSpec, type FlagSpec } from "./commands.js";

// The command line, checked against the command table before anything else is loaded.

/** A mistake in the command line: the message and the usage go to stderr, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to show (none: the tool's). */
    readonly command?: CommandSpec,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** Flag values by flag name; a switch (--yes) is "". */
export type Flags = Record<string, string>;

export type Invocation =
  | { kind: "help"; command?: CommandSpec }
  | { kind: "version" }
  | { kind: "run"; command: CommandSpec; flags: Flags };

const isHelp = (arg: string) => arg === "--help" || arg === "-h";

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

function unknownCommand(name: string): UsageError {
  const near = commands.filter(
    (c) => distance(c.name, name) <= 2 || (name.length >= 4 && c.name.startsWith(name)),
  );
  const hint = near.length ? ` Did you mean ${near.map((c) => c.name).join(" or ")}?` : "";
  return new UsageError(`Unknown command '${name}'.${hint}`);
}

function findCommand(name: string): CommandSpec {
  const command = commandNamed(name);
  if (!command) throw unknownCommand(name);
  return command;
}

export function parseArgs(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError("No command given.");
  if (isHelp(first)) return { kind: "help" };
  if (first === "help")
    return rest[0] === undefined ? { kind: "help" } : { kind: "help", command: findCommand(rest[0]) };
  if (first === "--version" || first === "-V") return { kind: "version" };
  if (first.startsWith("-"))
    throw new UsageError(`Unknown option '${first}': a command comes first (see --help).`);
  const command = findCommand(first);
  if (rest.some(isHelp)) return { kind: "help", command };
  return { kind: "run", command, flags: parseFlags(command, rest) };
}

function parseFlags(command: CommandSpec, args: readonly string[]): Flags {
  const fail = (message: string) => new UsageError(message, command);
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) throw fail(`Unexpected argument '${arg}': flags look like --name value (or --name=value).`);
    const [, name, inline] = m as unknown as [string, string, string | undefined];
    const spec = command.flags.find((f) => f.name === name);
    if (!spec) throw fail(`Unknown flag --${name} for ${command.name}.`);
    if (name in flags) throw fail(`Flag --${name} is given twice.`);
    if (!spec.value) {
      if (inline !== undefined) throw fail(`Flag --${name} takes no value.`);
      flags[name] = "";
      continue;
    }
    let value = inline;
    if (value === undefined) {
      value = args[i + 1];
      if (value === undefined || value.startsWith("--"))
        throw fail(`Flag --${name} needs a value (${spec.value}).`);
      i++;
    }
    flags[name] = checkValue(command, spec, value);
  }
  const missing = command.flags.filter((f) => f.required && f.value && flags[f.name] === undefined);
  if (missing.length)
    throw fail(`Missing ${missing.map((f) => `--${f.name}`).join(", ")} for ${command.name}.`);
  const confirmation = command.flags.find((f) => f.required && !f.value && flags[f.name] === undefined);
  if (confirmation)
    throw fail(
      `${command.name} cannot be undone (it would ${command.summary}): add --${confirmation.name} to confirm.`,
    );
  return flags;
}

function checkValue(command: CommandSpec, spec: FlagSpec, value: string): string {
  const fail = (message: string) => new UsageError(message, command);
  const name = spec.name;
  if (value === "" && !spec.allowEmpty)
    throw fail(`Flag --${name} needs a value (${spec.value}), not an empty one.`);
  if (spec.choices && !spec.choices.includes(value)) {
    throw fail(`--${name} must be one of ${spec.choices.join(", ")}, not '${value}'.`);
  }
  if (
    spec.seconds &&
    (!/^[0-9]+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value)))
  ) {
    throw fail(`--${name} must be a positive whole number of seconds, not '${value}'.`);
  }
  return value;
}

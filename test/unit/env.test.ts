import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "../../server/env.js";

describe("configuration", () => {
  it("has working defaults for the embedded set-up", () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.DATA_DIR).toMatch(/\/data$/);
    expect(env.MAX_KEY_LENGTH).toBe(255);
    expect(env.MAX_VALUE_CHARS).toBe(1_000_000);
  });

  it("lists every bad variable at once, by name", () => {
    let error: unknown;
    try {
      parseEnv({
        PORT: "eighty",
        DATABASE_URL: "mysql://x",
        LOG_LEVEL: "loud",
        MAX_KEY_LENGTH: "0",
        DB_PREPARED_STATEMENTS: "maybe",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    for (const name of ["PORT", "DATABASE_URL", "LOG_LEVEL", "MAX_KEY_LENGTH", "DB_PREPARED_STATEMENTS"])
      expect(problems).toContain(name);
    expect((error as ConfigError).message).toMatch(/^Invalid configuration:/);
  });

  it("treats an empty DATABASE_URL as unset", () => {
    expect(parseEnv({ DATABASE_URL: "" }).DATABASE_URL).toBeUndefined();
  });
});

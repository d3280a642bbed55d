import { describe, expect, it } from "vitest";
import { BoundLogger, createLogger } from "../../server/log.js";

describe("createLogger (pino)", () => {
  it("writes one JSON object per line: time, level by name, msg and the fields; below the level nothing", () => {
    const lines: string[] = [];
    const log = createLogger("info", (line) => lines.push(line));
    log.debug("hidden");
    log.info("request", { status: 200, route: "/health" });
    log.error("failed", { code: "X" });
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    const first = JSON.parse(lines[0]!);
    expect(first).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: "info",
      msg: "request",
      status: 200,
      route: "/health",
    });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: "error", msg: "failed", code: "X" });
  });

  it("silent writes nothing", () => {
    const lines: string[] = [];
    const log = createLogger("silent", (line) => lines.push(line));
    log.error("x");
    expect(lines).toEqual([]);
  });

  it("BoundLogger adds its bindings to every line", () => {
    const lines: string[] = [];
    const log = new BoundLogger(
      createLogger("debug", (line) => lines.push(line)),
      { request_id: "r1" },
    );
    log.debug("a");
    log.warn("b", { x: 1 });
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { level: "debug", msg: "a", request_id: "r1" },
      { level: "warn", msg: "b", request_id: "r1", x: 1 },
    ]);
  });
});

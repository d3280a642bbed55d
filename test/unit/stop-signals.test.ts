import { describe, expect, it } from "vitest";
import { forcedExitCode, stopSignalReader, type StopSignal } from "../../server/stop-signals.js";

function reader() {
  let now = 0;
  const calls: string[] = [];
  const read = stopSignalReader(
    { graceful: (s) => calls.push(`graceful ${s}`), forced: (s) => calls.push(`forced ${s}`) },
    1000,
    () => now,
  );
  return { calls, at: (ms: number, signal: StopSignal) => ((now = ms), read(signal)) };
}

describe("stop signals", () => {
  it("the first signal asks for a graceful stop; repeats within a second are the same request", () => {
    const r = reader();
    r.at(0, "SIGINT");
    r.at(5, "SIGINT"); // Ctrl-C under npm: from the terminal, then forwarded by npm
    r.at(999, "SIGTERM");
    expect(r.calls).toEqual(["graceful SIGINT"]);
  });

  it("a signal a second or more after the first forces the stop, once", () => {
    const r = reader();
    r.at(0, "SIGTERM");
    r.at(1000, "SIGTERM");
    r.at(3000, "SIGINT");
    expect(r.calls).toEqual(["graceful SIGTERM", "forced SIGTERM"]);
  });

  it("a forced stop exits with 128 + the signal's number, as a shell reports a killed process", () => {
    expect(forcedExitCode("SIGINT")).toBe(130);
    expect(forcedExitCode("SIGTERM")).toBe(143);
  });
});

import { constants } from "node:os";

// How the server reads SIGTERM and SIGINT (README "Running it in production"):
// - the first one asks for a graceful stop;
// - another within `repeatWithinMs` of the first is the same request, not a second one: Ctrl-C under
//   `npm start` delivers SIGINT twice (from the terminal to the whole process group, and forwarded by
//   npm), and systemd signals every process of the unit, npm included, which forwards it again;
// - one after that is an operator insisting: the stop is forced (requests in flight are cut).

export type StopSignal = "SIGTERM" | "SIGINT";

export interface StopSignalHandlers {
  graceful(signal: StopSignal): void;
  forced(signal: StopSignal): void;
}

export const REPEAT_WITHIN_MS = 1000;

/** Turns a sequence of stop signals into one graceful request, then a forced one. */
export function stopSignalReader(
  handlers: StopSignalHandlers,
  repeatWithinMs = REPEAT_WITHIN_MS,
  now = () => Date.now(),
) {
  let first: number | undefined;
  let forced = false;
  return (signal: StopSignal) => {
    const at = now();
    if (first === undefined) {
      first = at;
      handlers.graceful(signal);
    } else if (!forced && at - first >= repeatWithinMs) {
      forced = true;
      handlers.forced(signal);
    }
  };
}

/** Routes the process's SIGTERM and SIGINT to `handlers` (Node's default for both would exit at once). */
export function onStopSignals(handlers: StopSignalHandlers): void {
  const read = stopSignalReader(handlers);
  process.on("SIGTERM", () => read("SIGTERM"));
  process.on("SIGINT", () => read("SIGINT"));
}

/** The exit code of a stop forced by `signal`: 128 + its number, as a shell reports a process it killed. */
export const forcedExitCode = (signal: StopSignal) => 128 + constants.signals[signal];

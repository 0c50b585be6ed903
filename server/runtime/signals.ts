/**
 * What both listeners do with a second SIGINT or SIGTERM during a graceful
 * shutdown: log one line, then exit at once with the code a shell reports
 * for the signal.
 *
 * @example
 * ```ts
 * import { signalExitCode } from "./signals.ts";
 *
 * console.log(signalExitCode("SIGTERM")); // 143
 * ```
 *
 * @module
 */

/** The signals that stop a server. */
export type ServerSignal = "SIGINT" | "SIGTERM";

/**
 * What a second SIGINT or SIGTERM during a graceful shutdown logs before the
 * process exits at once: nothing acknowledged is lost (it is committed, and
 * the WAL is recovered at the next start), but requests in flight are cut.
 */
export const SECOND_SIGNAL =
  "second signal: exiting at once, without waiting for the requests in flight";

/**
 * The exit code of a process ended by `sig`, as a shell reports it: 128
 * plus the signal's number (130 for SIGINT, 143 for SIGTERM).
 *
 * @param sig The signal.
 * @returns The code.
 */
export function signalExitCode(sig: ServerSignal): number {
  return 128 + (sig === "SIGINT" ? 2 : 15);
}

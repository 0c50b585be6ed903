/**
 * A worker's options with their defaults filled in, checked once so that a
 * bad number fails in the constructor rather than in every claim.
 *
 * @module
 */

import { LIMITS } from "../core/limits.ts";
import type { WorkerOptions } from "./worker.ts";

/** Every option but the filters, defaults filled in. */
export type Settings = Required<Omit<WorkerOptions, "publisher" | "namespace">>;

/** Longest delay a timer keeps; a longer one fires at once. */
const TIMER_MAX = 2 ** 31 - 1;

/** A user callback that throws must not become an unhandled rejection. */
function safe<A extends unknown[]>(
  fn: (...args: A) => void,
): (...args: A) => void {
  return (...args) => {
    try {
      fn(...args);
    } catch {
      // Nowhere left to report it.
    }
  };
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

const isCount = (n: number, min: number, max: number) =>
  Number.isInteger(n) && n >= min && n <= max;
const isSpan = (n: number, min = 0, max = TIMER_MAX) =>
  Number.isFinite(n) && n >= min && n <= max;

/**
 * Fills in the defaults and checks the options.
 *
 * @param options As given to the constructor.
 * @returns The settings.
 * @throws {TypeError} without a goal or handler.
 * @throws {RangeError} when a number is out of range, or not an integer
 *   where the protocol needs one (concurrency, lease, batch).
 */
export function settingsOf(options: WorkerOptions): Settings {
  if (typeof options?.goal !== "string" || options.goal.trim() === "") {
    throw new TypeError("Worker needs a goal");
  }
  if (typeof options.handler !== "function") {
    throw new TypeError("Worker needs a handler function");
  }
  const concurrency = options.concurrency ?? 1;
  const o: Settings = {
    goal: options.goal,
    handler: options.handler,
    concurrency,
    leaseSeconds: options.leaseSeconds ?? LIMITS.leaseDefault,
    waitSeconds: options.waitSeconds ?? LIMITS.waitMax,
    batch: options.batch ?? Math.min(concurrency, LIMITS.batchClaimMax),
    gracePeriodMs: options.gracePeriodMs ?? 10_000,
    signals: options.signals ?? true,
    onError: safe(
      options.onError ?? ((e) => console.error("Intent Bus worker:", e)),
    ),
    onAck: safe(options.onAck ?? (() => {})),
    idleMinMs: options.idleMinMs ?? 100,
    idleMaxMs: options.idleMaxMs ?? 5_000,
  };
  check(
    isCount(concurrency, 1, Infinity),
    `Concurrency must be an integer of at least 1: got ${concurrency}`,
  );
  check(
    isCount(o.leaseSeconds, LIMITS.leaseMin, LIMITS.leaseMax),
    `Lease must be a whole number of seconds, ${LIMITS.leaseMin} to ${LIMITS.leaseMax}: got ${o.leaseSeconds}`,
  );
  check(
    isSpan(o.waitSeconds, 0, LIMITS.waitMax),
    `Wait must be 0 to ${LIMITS.waitMax} seconds: got ${o.waitSeconds}`,
  );
  check(
    isCount(o.batch, 1, LIMITS.batchClaimMax),
    `Batch must be an integer, 1 to ${LIMITS.batchClaimMax}: got ${o.batch}`,
  );
  check(
    isSpan(o.gracePeriodMs),
    `Grace period must be 0 to ${TIMER_MAX} ms: got ${o.gracePeriodMs}`,
  );
  check(
    isSpan(o.idleMinMs) && isSpan(o.idleMaxMs, o.idleMinMs),
    `Idle delays must be 0 to ${TIMER_MAX} ms, the least first: got ${o.idleMinMs} and ${o.idleMaxMs}`,
  );
  return o;
}

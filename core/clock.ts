/**
 * Time as the queue sees it, injected so leases and backoff can be tested
 * without sleeping.
 *
 * @module
 */

/** A source of the current time in unix milliseconds. */
export interface Clock {
  /** The current time, unix milliseconds. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that moves only when told to; for tests.
 *
 * @example
 * ```ts
 * import { ManualClock } from "./clock.ts";
 *
 * const clock = new ManualClock(1_000);
 * clock.advance(60_000);
 * console.log(clock.now()); // 61000
 * ```
 */
export class ManualClock implements Clock {
  #now: number;

  /**
   * Creates a clock stopped at `start`.
   *
   * @param start The starting time, unix milliseconds.
   */
  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  /**
   * The current manual time.
   *
   * @returns The current manual time, unix milliseconds.
   */
  now(): number {
    return this.#now;
  }

  /**
   * Moves the clock forward.
   *
   * @param ms Milliseconds to move forward.
   */
  advance(ms: number): void {
    this.#now += ms;
  }
}

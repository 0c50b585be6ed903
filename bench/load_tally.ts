/**
 * The exactly-once bookkeeping of a load run: which intents were published
 * (and when), claimed and fulfilled, with the duplicate and lost counters.
 *
 * @example
 * ```ts
 * import { Tally } from "./load_tally.ts";
 *
 * const t = new Tally();
 * t.published("a", 0);
 * t.delivered("a");
 * t.fulfilled("a", 5);
 * console.log(t.allFulfilled, t.duplicateDeliveries); // true 0
 * ```
 *
 * @module
 */

import { Histogram } from "./stats.ts";

/** Every id a run saw, and the correctness counters. */
export class Tally {
  /** Published id → time the publish request was sent (ms). */
  readonly sentAt: Map<string, number> = new Map();
  /** Fulfilled id → time the fulfil (or ack) answer arrived (ms). */
  readonly doneAt: Map<string, number> = new Map();
  readonly #claimed = new Set<string>();
  /** Empty claims (204). */
  emptyPolls = 0;
  /** Claims of an id that had already been claimed. */
  duplicateDeliveries = 0;
  /** Successful fulfils of an id already fulfilled. */
  duplicateFulfils = 0;
  /** Fulfils refused because the lease was gone (404, 409). */
  leasesLost = 0;
  /** Intents of ours (published by this run) fulfilled. */
  oursDone = 0;

  /**
   * Records a published intent.
   *
   * @param id Its id.
   * @param at When its publish request was sent.
   */
  published(id: string, at: number): void {
    this.sentAt.set(id, at);
    // The intent may have been fulfilled before this answer arrived.
    if (this.doneAt.has(id)) this.oursDone++;
  }

  /**
   * Records a claimed intent, counting a second delivery of it.
   *
   * @param id Its id.
   */
  delivered(id: string): void {
    if (this.#claimed.has(id)) this.duplicateDeliveries++;
    this.#claimed.add(id);
  }

  /**
   * Records a successful fulfil, counting a second one of the same id.
   *
   * @param id Its id.
   * @param at When the answer arrived.
   */
  fulfilled(id: string, at: number = performance.now()): void {
    if (this.doneAt.has(id)) {
      this.duplicateFulfils++;
      return;
    }
    this.doneAt.set(id, at);
    // Other intents of the goal (a backlog) are not counted as ours.
    if (this.sentAt.has(id)) this.oursDone++;
  }

  /** Whether every intent published so far has been fulfilled. */
  get allFulfilled(): boolean {
    return this.oursDone >= this.sentAt.size;
  }

  /**
   * Our fulfilled intents, their end-to-end latencies and the last fulfil.
   *
   * @param start The run's start, the floor of `last`.
   * @returns Count, end-to-end histogram and time of the last fulfil.
   */
  ours(start: number): { fulfilled: number; e2e: Histogram; last: number } {
    let last = start, fulfilled = 0;
    const e2e = new Histogram();
    for (const [id, t] of this.doneAt) {
      const sent = this.sentAt.get(id);
      if (sent === undefined) continue; // not ours
      fulfilled++;
      e2e.record(t - sent);
      if (t > last) last = t;
    }
    return { fulfilled, e2e, last };
  }
}

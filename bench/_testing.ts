// Test helper: the correctness counters every profile run must show.

import assert from "node:assert/strict";
import type { ProfileResult } from "./profiles.ts";

/**
 * Asserts that a run published and fulfilled `n` intents exactly once: none
 * lost, delivered or fulfilled twice, no lease lost, no error, no time-out.
 *
 * @param r The run's result.
 * @param n How many intents it was given.
 */
export function assertExactlyOnce(r: ProfileResult, n: number): void {
  assert.equal(r.published, n);
  assert.equal(r.fulfilled, n);
  assert.equal(r.lost, 0);
  assert.equal(r.duplicateDeliveries, 0);
  assert.equal(r.duplicateFulfils, 0);
  assert.equal(r.leasesLost, 0);
  assert.equal(r.successRate, 100);
  assert.equal(r.timedOut, false);
  assert.deepEqual(r.errors, {});
}

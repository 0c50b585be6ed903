// Conformance cases for reaping in chunks: `leaseReap` with a limit moves
// at most that many rows in each step, earliest first, and the next calls
// move the rest, each row exactly once.

import assert from "node:assert/strict";
import type { Storage } from "../storage.ts";
import { type Case, claim, publish, T0 } from "./_fixtures.ts";

/**
 * Publishes `n` intents of goal `g<maxAttempts>` and claims them, lease
 * ending at T0 + 60 s + `from` + i.
 */
async function leased(
  s: Storage,
  n: number,
  maxAttempts: number,
  from: number,
) {
  for (let i = 0; i < n; i++) {
    await s.intentInsert(publish({ maxAttempts, goal: `g${maxAttempts}` }));
    const [c] = await s.intentClaim(
      claim({ goal: `g${maxAttempts}`, now: T0 + from + i }),
    );
    assert.ok(c);
  }
}

/** Registers the reap cases. */
export function reapCases(test: Case): void {
  test("leaseReap with a limit moves at most that many of each kind, and later calls the rest", async (s) => {
    // The last attempts' leases end first, so a chunk of "put back" that
    // did not skip them would take them.
    await leased(s, 5, 1, 0); // die when their lease ends
    await leased(s, 4, 3, 100); // go back to open
    for (let i = 0; i < 3; i++) {
      await s.intentInsert(publish({ goal: "old", expiresAt: T0 + 1000 + i }));
    }
    const now = T0 + 120_000;
    const steps = [];
    for (;;) {
      const r = await s.leaseReap({ now, jitter: 0, limit: 2 });
      steps.push(r);
      if (r.retried < 2 && r.dead < 2) break;
    }
    // Dead leases 2+2+1 and expired 2+1, put back 2+2+0.
    assert.deepEqual(steps, [
      { retried: 2, dead: 4 },
      { retried: 2, dead: 3 },
      { retried: 0, dead: 1 },
    ]);
    // Only the intents with attempts left went back to open: a last
    // attempt's lease is never put back, even when its step's chunk is full.
    const stats = await s.statsGet({ now });
    assert.equal(stats.states.open, 4);
    assert.equal(stats.states.claimed ?? 0, 0);
    const reopened = await s.intentClaim(
      claim({ goal: "g3", now: now + 3_600_000, max: 10 }),
    );
    assert.equal(reopened.length, 4);
    const dead = await s.deadList({ limit: 100 });
    assert.equal(dead.length, 8);
    assert.equal(new Set(dead.map((d) => d.id)).size, 8);
    assert.deepEqual(
      dead.map((d) => d.deadReason).sort(),
      [...Array(3).fill("expired"), ...Array(5).fill("lease_expired")],
    );
  });
}

// Conformance cases for claiming: order, timing, routing, exclusivity.

import assert from "node:assert/strict";
import { type Case, claim, publish, T0 } from "./_fixtures.ts";

/** Registers the claim cases. */
export function claimCases(test: Case): void {
  test("claim takes intents by priority, then run_at, attempts, creation", async (s) => {
    // e is claimed and failed once, so it is due at T0+10s with 1 attempt.
    const e = publish({ now: T0 });
    await s.intentInsert(e);
    const [ce] = await s.intentClaim(claim({ now: T0 }));
    await s.intentFail({
      id: e.id,
      token: ce.claimToken,
      caller: "worker",
      error: "x",
      jitter: 0,
      now: T0,
    });
    const a = publish({ now: T0 + 1, runAt: T0 });
    const b = publish({ now: T0 + 2, runAt: T0, priority: 200 });
    const c = publish({ now: T0 + 3, runAt: T0 - 10 });
    const d = publish({ now: T0 + 4, runAt: T0 });
    const f = publish({ now: T0 + 5, runAt: T0 + 10_000 });
    for (const p of [a, b, c, d, f]) await s.intentInsert(p);
    const expected = [b, c, a, d, f, e].map((p) => p.id);

    const one: string[] = [];
    for (let i = 0; i < 6; i++) {
      const got = await s.intentClaim(claim({ now: T0 + 10_000 }));
      one.push(got[0].id);
    }
    assert.deepEqual(one, expected);
    assert.deepEqual(await s.intentClaim(claim({ now: T0 + 10_000 })), []);
  });

  test("a batch claim returns intents in claim order", async (s) => {
    const low = publish({ priority: 1 });
    const high = publish({ priority: 900, now: T0 + 1, runAt: T0 });
    const mid = publish({ priority: 500, now: T0 + 2, runAt: T0 });
    for (const p of [low, high, mid]) await s.intentInsert(p);
    const got = await s.intentClaim(claim({ now: T0 + 5, max: 10 }));
    assert.deepEqual(got.map((c) => c.id), [high.id, mid.id, low.id]);
  });

  test("claim skips intents whose run_at is in the future", async (s) => {
    const p = publish({ runAt: T0 + 60_000 });
    await s.intentInsert(p);
    assert.deepEqual(await s.intentClaim(claim({ now: T0 + 59_999 })), []);
    const got = await s.intentClaim(claim({ now: T0 + 60_000 }));
    assert.equal(got[0].id, p.id);
  });

  test("claim skips intents past their expiry", async (s) => {
    await s.intentInsert(publish({ expiresAt: T0 + 1000 }));
    assert.deepEqual(await s.intentClaim(claim({ now: T0 + 1000 })), []);
  });

  test("claim looks only in the requested namespace and goal", async (s) => {
    await s.intentInsert(publish({ namespace: "other" }));
    await s.intentInsert(publish({ goal: "other" }));
    assert.deepEqual(await s.intentClaim(claim()), []);
    const got = await s.intentClaim(claim({ namespace: "other", goal: "g" }));
    assert.equal(got.length, 1);
  });

  test("a private intent is claimable by its publisher and the master key only", async (s) => {
    const p = publish({ visibility: "private", publisher: "alice" });
    await s.intentInsert(p);
    assert.deepEqual(await s.intentClaim(claim({ caller: "bob" })), []);
    const own = await s.intentClaim(claim({ caller: "alice" }));
    assert.equal(own[0].id, p.id);
    const q = publish({ visibility: "private", publisher: "alice" });
    await s.intentInsert(q);
    const master = await s.intentClaim(claim({ caller: "root", master: true }));
    assert.equal(master[0].id, q.id);
  });

  test("a publisher filter claims only that publisher's intents", async (s) => {
    await s.intentInsert(publish({ publisher: "alice" }));
    const b = publish({ publisher: "bob", now: T0 + 1, runAt: T0 });
    await s.intentInsert(b);
    const got = await s.intentClaim(claim({ publisher: "bob", max: 5 }));
    assert.deepEqual(got.map((c) => c.id), [b.id]);
  });

  test("an intent with a target worker goes only to that worker id", async (s) => {
    const p = publish({ targetWorker: "w1" });
    await s.intentInsert(p);
    assert.deepEqual(await s.intentClaim(claim()), []);
    assert.deepEqual(await s.intentClaim(claim({ workerId: "w2" })), []);
    const got = await s.intentClaim(claim({ workerId: "w1" }));
    assert.equal(got[0].id, p.id);
    assert.equal(got[0].targetWorker, "w1");
    assert.equal((await s.intentGet({ id: p.id }))?.workerId, "w1");
  });

  test("an intent with a required capability goes only to claimers listing it", async (s) => {
    const p = publish({ requiredCapability: "gpu" });
    await s.intentInsert(p);
    assert.deepEqual(await s.intentClaim(claim()), []);
    assert.deepEqual(await s.intentClaim(claim({ capabilities: ["cpu"] })), []);
    const got = await s.intentClaim(claim({ capabilities: ["cpu", "gpu"] }));
    assert.equal(got[0].id, p.id);
  });

  test("a claim leases with a fresh token, one more attempt and a new epoch", async (s) => {
    const p = publish();
    await s.intentInsert(p);
    const [c1] = await s.intentClaim(claim({ leaseMs: 30_000 }));
    assert.match(c1.claimToken, /^[0-9a-f]{32}$/);
    assert.equal(c1.claimAttempts, 1);
    assert.equal(c1.leaseEpoch, 1);
    assert.equal(c1.leaseExpiresAt, T0 + 30_000);
    assert.deepEqual(c1.payload, { n: 1 });
    const stored = await s.intentGet({ id: p.id });
    assert.equal(stored?.state, "claimed");
    assert.equal(stored?.claimedBy, "worker");
    await s.intentRelease({
      id: p.id,
      token: c1.claimToken,
      caller: "worker",
      now: T0,
    });
    const [c2] = await s.intentClaim(claim());
    assert.notEqual(c2.claimToken, c1.claimToken);
    assert.equal(c2.leaseEpoch, 2);
  });

  test("concurrent claims never take the same intent", async (s) => {
    const items = Array.from(
      { length: 200 },
      (_, i) => publish({ now: T0 + i, runAt: T0 }),
    );
    await s.intentInsertMany({ items, atomic: true });
    const batches = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          s.intentClaim(
            claim({ now: T0 + 1000, max: 1 + (i % 7), caller: `w${i}` }),
          ),
      ),
    );
    const ids = batches.flat().map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length);
    const more = await s.intentClaim(claim({ now: T0 + 1000, max: 100 }));
    // The 50 claims ask for 197 in all; 3 are left for the last one.
    assert.equal(ids.length, 197);
    assert.equal(more.length, 3);
    for (const c of [...batches.flat(), ...more]) {
      assert.equal(c.claimAttempts, 1);
    }
  });

  test("a paused goal is not claimed until resumed", async (s) => {
    await s.intentInsert(publish());
    await s.goalPause({ namespace: "ns", goal: "g", now: T0 });
    await s.goalPause({ namespace: "ns", goal: "g", now: T0 });
    assert.deepEqual(await s.intentClaim(claim()), []);
    const stats = await s.statsGet({ now: T0 });
    assert.equal(stats.goals[0].paused, true);
    await s.goalResume({ namespace: "ns", goal: "g" });
    assert.equal((await s.intentClaim(claim())).length, 1);
  });

  test("claim of an empty queue returns an empty list", async (s) => {
    assert.deepEqual(await s.intentClaim(claim({ max: 10 })), []);
  });
}

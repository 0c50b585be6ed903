// Conformance cases for replays of fail and release: the same call sent
// again after its first answer was lost is answered as before, while every
// other use of the ended lease's token still loses.

import assert from "node:assert/strict";
import { LeaseLostError } from "../../core/errors.ts";
import type { Storage } from "../storage.ts";
import { type Case, claim, publish, T0 } from "./_fixtures.ts";

async function claimOne(s: Storage, maxAttempts = 3) {
  const p = publish({ maxAttempts });
  await s.intentInsert(p);
  const [c] = await s.intentClaim(claim({ now: T0, leaseMs: 60_000 }));
  assert.equal(c.id, p.id);
  return c;
}

const lease = (c: { id: string; claimToken: string }, now = T0 + 5) => ({
  id: c.id,
  token: c.claimToken,
  caller: "worker",
  now,
});

/** Registers the replay cases. */
export function replayCases(test: Case): void {
  test("a fail replayed with its token is answered as the first was, and changes nothing", async (s) => {
    const c = await claimOne(s);
    const fail = { ...lease(c), error: "boom", jitter: 0 };
    const first = await s.intentFail(fail);
    assert.equal(first.state, "open");
    assert.equal(first.claimToken, null);
    const again = await s.intentFail({ ...fail, now: T0 + 9, error: "other" });
    assert.deepEqual(again, first);
    assert.deepEqual(await s.intentGet({ id: c.id }), first);
    // Through a batch acknowledgement too.
    const [acked] = await s.intentAckMany({
      items: [{ kind: "fail", ...fail, now: T0 + 10 }],
    });
    assert.ok(acked.ok);
    assert.deepEqual(acked.intent, first);
  });

  test("a fail that dead-lettered the intent, replayed, returns the dead intent", async (s) => {
    const c = await claimOne(s, 1);
    const fail = { ...lease(c), error: "fatal", jitter: 0 };
    const first = await s.intentFail(fail);
    assert.equal(first.state, "dead");
    assert.deepEqual(await s.intentFail(fail), first);
    assert.equal((await s.deadList({ limit: 10 })).length, 1);
  });

  test("a release replayed with its token is answered as the first was, without giving back another attempt", async (s) => {
    const c = await claimOne(s);
    const first = await s.intentRelease(lease(c));
    assert.equal(first.state, "open");
    assert.equal(first.claimAttempts, 0);
    assert.deepEqual(await s.intentRelease(lease(c, T0 + 9)), first);
    assert.deepEqual(await s.intentGet({ id: c.id }), first);
  });

  test("after fail or release the old token still loses for fulfil, extend and the other call", async (s) => {
    const failed = await claimOne(s);
    await s.intentFail({ ...lease(failed), error: "e", jitter: 0 });
    const released = await claimOne(s);
    await s.intentRelease(lease(released));
    for (const c of [failed, released]) {
      await assert.rejects(
        s.intentFulfil({
          ...lease(c),
          result: null,
          resultType: "json",
        }),
        LeaseLostError,
      );
      await assert.rejects(
        s.leaseExtend({ ...lease(c), leaseMs: 60_000 }),
        LeaseLostError,
      );
    }
    // Nor the marker the row keeps, sent as a token.
    for (
      const [c, how] of [[failed, "failed"], [released, "released"]] as const
    ) {
      const marker = { ...c, claimToken: `${how}:${c.claimToken}` };
      await assert.rejects(
        s.intentFulfil({ ...lease(marker), result: null, resultType: "json" }),
        LeaseLostError,
      );
      const [acked] = await s.intentAckMany({
        items: [{
          kind: "fulfil",
          ...lease(marker),
          result: null,
          resultType: "json",
        }],
      });
      assert.ok(!acked.ok && acked.error instanceof LeaseLostError);
      assert.notEqual((await s.intentGet({ id: c.id }))?.state, "fulfilled");
    }
    // Release after fail, and fail after release: not replays.
    await assert.rejects(s.intentRelease(lease(failed)), LeaseLostError);
    await assert.rejects(
      s.intentFail({ ...lease(released), error: "e", jitter: 0 }),
      LeaseLostError,
    );
  });

  test("once the intent is claimed again, a replay of the old fail loses", async (s) => {
    const c = await claimOne(s);
    const fail = { ...lease(c), error: "e", jitter: 0 };
    const first = await s.intentFail(fail);
    const [again] = await s.intentClaim(claim({ now: first.runAt }));
    assert.equal(again.id, c.id);
    await assert.rejects(s.intentFail(fail), LeaseLostError);
    await assert.rejects(s.intentRelease(lease(c)), LeaseLostError);
  });
}

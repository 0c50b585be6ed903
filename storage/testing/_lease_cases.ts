// Conformance cases for leases: tokens, fulfil, fail and backoff, extend,
// release, reaping, batch acknowledgement.

import assert from "node:assert/strict";
import type { Intent } from "../../core/intent.ts";
import { LeaseLostError, NotFoundError } from "../../core/errors.ts";
import type { Storage } from "../storage.ts";
import { type Case, claim, publish, T0 } from "./_fixtures.ts";

async function claimOne(
  s: Storage,
  over: Parameters<typeof publish>[0] = {},
  now = T0,
) {
  const p = publish(over);
  await s.intentInsert(p);
  const [c] = await s.intentClaim(claim({ now, leaseMs: 60_000 }));
  assert.equal(c.id, p.id);
  return c;
}

const done = { result: { ok: true }, resultType: "json" as const };

/** Registers the lease cases. */
export function leaseCases(test: Case): void {
  test("fulfil with the current token stores the result", async (s) => {
    const c = await claimOne(s);
    const i = await s.intentFulfil({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      now: T0 + 5,
      ...done,
    });
    assert.equal(i.state, "fulfilled");
    assert.deepEqual(i.result, { ok: true });
    assert.equal(i.completedAt, T0 + 5);
    assert.deepEqual(await s.intentGet({ id: c.id }), i);
  });

  test("fulfil stores a text result", async (s) => {
    const c = await claimOne(s);
    const i = await s.intentFulfil({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      now: T0,
      result: "plain text",
      resultType: "text",
    });
    assert.equal(i.result, "plain text");
    assert.equal(i.resultType, "text");
  });

  test("fulfil is accepted after the lease expired and was reaped, if nobody re-claimed", async (s) => {
    const c = await claimOne(s);
    const reaped = await s.leaseReap({ now: T0 + 60_000, jitter: 0 });
    assert.deepEqual(reaped, { retried: 1, dead: 0 });
    assert.equal((await s.intentGet({ id: c.id }))?.state, "open");
    const i = await s.intentFulfil({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      now: T0 + 61_000,
      ...done,
    });
    assert.equal(i.state, "fulfilled");
  });

  test("fulfil is accepted after the last attempt's lease expired and was dead-lettered, and through ack too", async (s) => {
    for (const via of ["fulfil", "ack"] as const) {
      const c = await claimOne(s, { maxAttempts: 1 });
      assert.deepEqual(await s.leaseReap({ now: T0 + 60_000, jitter: 0 }), {
        retried: 0,
        dead: 1,
      });
      const p = {
        id: c.id,
        token: c.claimToken,
        caller: "worker",
        now: T0 + 61_000,
        ...done,
      };
      const i = via === "fulfil"
        ? await s.intentFulfil(p)
        : await s.intentAckMany({ items: [{ kind: "fulfil", ...p }] })
          .then(([r]) => {
            assert.ok(r.ok, JSON.stringify(r));
            return r.intent;
          });
      assert.equal(i.state, "fulfilled");
      assert.deepEqual(i.result, { ok: true });
      assert.equal(i.completedAt, T0 + 61_000);
      const stored = await s.intentGet({ id: c.id });
      assert.equal(stored?.state, "fulfilled");
      assert.equal(stored?.deadReason ?? null, null);
      assert.deepEqual(await s.deadList({ ids: [c.id], limit: 10 }), []);
      // A replay of that fulfil changes nothing.
      assert.equal((await s.intentFulfil(p)).state, "fulfilled");
    }
  });

  test("a dead intent is not fulfilled with another token, nor when it died another way", async (s) => {
    const c = await claimOne(s, { maxAttempts: 1 });
    await s.leaseReap({ now: T0 + 60_000, jitter: 0 });
    const late = { id: c.id, caller: "worker", now: T0 + 61_000, ...done };
    await assert.rejects(
      s.intentFulfil({ ...late, token: "not-the-token" }),
      LeaseLostError,
    );
    const c2 = await claimOne(s, { maxAttempts: 1 });
    await s.intentCancel({ id: c2.id, now: T0 + 1 });
    await assert.rejects(
      s.intentFulfil({ ...late, id: c2.id, token: c2.claimToken }),
      LeaseLostError,
    );
    assert.equal((await s.intentGet({ id: c.id }))?.state, "dead");
    assert.equal((await s.intentGet({ id: c2.id }))?.state, "dead");
  });

  test("a stale token is refused with LeaseLostError once another claim took over", async (s) => {
    const c = await claimOne(s);
    await s.leaseReap({ now: T0 + 60_000, jitter: 0 });
    const later = T0 + 60_000 + 10_000;
    const [c2] = await s.intentClaim(claim({ now: later }));
    assert.equal(c2.id, c.id);
    const stale = {
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      now: later,
    };
    await assert.rejects(s.intentFulfil({ ...stale, ...done }), LeaseLostError);
    await assert.rejects(
      s.intentFail({ ...stale, error: "x", jitter: 0 }),
      LeaseLostError,
    );
    await assert.rejects(
      s.leaseExtend({ ...stale, leaseMs: 1000 }),
      LeaseLostError,
    );
    await assert.rejects(s.intentRelease(stale), LeaseLostError);
    const ok = await s.intentFulfil({
      ...stale,
      token: c2.claimToken,
      ...done,
    });
    assert.equal(ok.state, "fulfilled");
  });

  test("lease operations on an unknown intent are NotFoundError", async (s) => {
    const p = {
      id: "f".repeat(32),
      token: "a".repeat(32),
      caller: "w",
      now: T0,
    };
    await assert.rejects(s.intentFulfil({ ...p, ...done }), NotFoundError);
    await assert.rejects(
      s.intentFail({ ...p, error: "x", jitter: 0 }),
      NotFoundError,
    );
    await assert.rejects(s.leaseExtend({ ...p, leaseMs: 1 }), NotFoundError);
    await assert.rejects(s.intentRelease(p), NotFoundError);
  });

  test("a fulfil replayed with the fulfilling claim's token returns the stored intent unchanged", async (s) => {
    const c = await claimOne(s);
    const p = { id: c.id, token: c.claimToken, caller: "worker" };
    const first = await s.intentFulfil({ ...p, now: T0 + 5, ...done });
    const again = await s.intentFulfil({
      ...p,
      now: T0 + 9_000,
      result: "a different result",
      resultType: "text",
    });
    assert.deepEqual(again, first);
    assert.deepEqual(await s.intentGet({ id: c.id }), first);
    const [r] = await s.intentAckMany({
      items: [{ kind: "fulfil", ...p, now: T0 + 10_000, ...done }],
    });
    assert.ok(r.ok);
    assert.deepEqual(r.intent, first);
  });

  test("fulfil of a fulfilled intent with another claim's token is LeaseLostError", async (s) => {
    const c = await claimOne(s);
    await s.leaseReap({ now: T0 + 60_000, jitter: 0 });
    const [c2] = await s.intentClaim(claim({ now: T0 + 70_000 }));
    assert.equal(c2.id, c.id);
    const p = { id: c.id, caller: "worker", now: T0 + 71_000, ...done };
    await s.intentFulfil({ ...p, token: c2.claimToken });
    await assert.rejects(
      s.intentFulfil({ ...p, token: c.claimToken }),
      LeaseLostError,
    );
    await assert.rejects(
      s.intentFulfil({ ...p, token: "a".repeat(32) }),
      LeaseLostError,
    );
    await assert.rejects(
      s.intentFulfil({ ...p, token: null }),
      LeaseLostError,
      "the v1.1 form proves no claim, so it cannot replay",
    );
  });

  test("fulfil of a dead intent is LeaseLostError", async (s) => {
    const d = await claimOne(s, { maxAttempts: 1 });
    const q = { id: d.id, token: d.claimToken, caller: "worker", now: T0 };
    await s.intentFail({ ...q, error: "boom", jitter: 0 });
    await assert.rejects(s.intentFulfil({ ...q, ...done }), LeaseLostError);
  });

  test("without a token, only the key holding a live lease may act", async (s) => {
    const c = await claimOne(s);
    const p = { id: c.id, token: null, now: T0 + 1000 };
    await assert.rejects(
      s.intentFulfil({ ...p, caller: "someone-else", ...done }),
      LeaseLostError,
    );
    await assert.rejects(
      s.intentFulfil({ ...p, caller: "worker", now: T0 + 60_000, ...done }),
      LeaseLostError,
    );
    const ext = await s.leaseExtend({
      ...p,
      caller: "worker",
      leaseMs: 60_000,
    });
    assert.equal(ext.leaseExpiresAt, T0 + 61_000);
    const i = await s.intentFulfil({
      ...p,
      caller: "worker",
      now: T0 + 60_500,
      ...done,
    });
    assert.equal(i.state, "fulfilled");
  });

  test("fail reopens after min(base × 2^attempts, 3600) plus jitter × base seconds", async (s) => {
    const c = await claimOne(s, { backoffBase: 5, maxAttempts: 5 });
    const f1 = await s.intentFail({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      error: "boom",
      jitter: 0.5,
      now: T0,
    });
    assert.equal(f1.state, "open");
    assert.equal(f1.lastError, "boom");
    assert.equal(f1.runAt, T0 + (5 * 2 + 0.5 * 5) * 1000);
    assert.deepEqual(await s.intentClaim(claim({ now: f1.runAt - 1 })), []);
    const [c2] = await s.intentClaim(claim({ now: f1.runAt }));
    const f2 = await s.intentFail({
      id: c.id,
      token: c2.claimToken,
      caller: "worker",
      error: "again",
      jitter: 0,
      now: f1.runAt,
    });
    assert.equal(f2.runAt, f1.runAt + 5 * 4 * 1000);
    assert.equal(f2.claimAttempts, 2);
  });

  test("fail backoff is capped at 3600 seconds plus jitter", async (s) => {
    const c = await claimOne(s, { backoffBase: 3600 });
    const f = await s.intentFail({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      error: "x",
      jitter: 0.25,
      now: T0,
    });
    assert.equal(f.runAt, T0 + (3600 + 900) * 1000);
  });

  test("fail on the last attempt dead-letters the intent", async (s) => {
    const c = await claimOne(s, { maxAttempts: 1 });
    const f = await s.intentFail({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      error: "fatal",
      jitter: 0,
      now: T0 + 7,
    });
    assert.equal(f.state, "dead");
    assert.equal(f.deadReason, "attempts_exhausted");
    assert.equal(f.lastError, "fatal");
    assert.deepEqual(await s.intentGet({ id: c.id }), f);
    const dead = await s.deadList({ limit: 10 });
    assert.deepEqual(dead.map((d) => d.id), [c.id]);
  });

  test("extend renews the lease so the reaper leaves it alone", async (s) => {
    const c = await claimOne(s);
    const e = await s.leaseExtend({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      leaseMs: 60_000,
      now: T0 + 50_000,
    });
    assert.equal(e.leaseExpiresAt, T0 + 110_000);
    assert.deepEqual(await s.leaseReap({ now: T0 + 100_000, jitter: 0 }), {
      retried: 0,
      dead: 0,
    });
  });

  test("release reopens the intent at once without using up an attempt", async (s) => {
    const c = await claimOne(s, { maxAttempts: 1 });
    const r = await s.intentRelease({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      now: T0 + 3,
    });
    assert.equal(r.state, "open");
    assert.equal(r.claimAttempts, 0);
    assert.equal(r.runAt, T0 + 3);
    await assert.rejects(
      s.intentFulfil({
        id: c.id,
        token: c.claimToken,
        caller: "worker",
        now: T0 + 3,
        ...done,
      }),
      LeaseLostError,
    );
    const [again] = await s.intentClaim(claim({ now: T0 + 3 }));
    assert.equal(again.id, c.id);
    assert.equal(again.claimAttempts, 1);
  });

  test("leaseReap reopens expired leases after backoff", async (s) => {
    const c = await claimOne(s, { backoffBase: 5 });
    assert.deepEqual(await s.leaseReap({ now: T0 + 59_999, jitter: 0 }), {
      retried: 0,
      dead: 0,
    });
    assert.deepEqual(await s.leaseReap({ now: T0 + 60_000, jitter: 0.5 }), {
      retried: 1,
      dead: 0,
    });
    const i = await s.intentGet({ id: c.id });
    assert.equal(i?.state, "open");
    assert.equal(i?.runAt, T0 + 60_000 + 12_500);
    assert.equal(i?.leaseExpiresAt, null);
    assert.deepEqual(await s.intentClaim(claim({ now: T0 + 72_499 })), []);
    assert.equal((await s.intentClaim(claim({ now: T0 + 72_500 }))).length, 1);
  });

  test("leaseReap dead-letters an expired lease on the last attempt at once", async (s) => {
    const c = await claimOne(s, { maxAttempts: 1 });
    assert.deepEqual(await s.leaseReap({ now: T0 + 60_000, jitter: 0 }), {
      retried: 0,
      dead: 1,
    });
    const i = await s.intentGet({ id: c.id });
    assert.equal(i?.state, "dead");
    assert.equal(i?.deadReason, "lease_expired");
  });

  test("leaseReap dead-letters open intents past their expiry", async (s) => {
    const p = publish({ expiresAt: T0 + 1000 });
    await s.intentInsert(p);
    assert.deepEqual(await s.leaseReap({ now: T0 + 999, jitter: 0 }), {
      retried: 0,
      dead: 0,
    });
    assert.deepEqual(await s.leaseReap({ now: T0 + 1000, jitter: 0 }), {
      retried: 0,
      dead: 1,
    });
    const i = await s.intentGet({ id: p.id });
    assert.equal(i?.state, "dead");
    assert.equal(i?.deadReason, "expired");
  });

  test("ackMany fulfils and fails each item on its own", async (s) => {
    const items = [publish(), publish({ now: T0 + 1, runAt: T0 })];
    for (const p of items) await s.intentInsert(p);
    const [a, b] = await s.intentClaim(claim({ now: T0 + 2, max: 2 }));
    const res = await s.intentAckMany({
      items: [
        {
          kind: "fulfil",
          id: a.id,
          token: a.claimToken,
          caller: "worker",
          now: T0 + 3,
          ...done,
        },
        {
          kind: "fulfil",
          id: b.id,
          token: "0".repeat(32),
          caller: "worker",
          now: T0 + 3,
          ...done,
        },
        {
          kind: "fail",
          id: b.id,
          token: b.claimToken,
          caller: "worker",
          now: T0 + 3,
          error: "e",
          jitter: 0,
        },
        {
          kind: "fail",
          id: "e".repeat(32),
          token: b.claimToken,
          caller: "worker",
          now: T0 + 3,
          error: "e",
          jitter: 0,
        },
      ],
    });
    assert.equal(res[0].ok && res[0].intent.state, "fulfilled");
    assert.ok(!res[1].ok && res[1].error instanceof LeaseLostError);
    assert.equal(res[2].ok && res[2].intent.state, "open");
    assert.ok(!res[3].ok && res[3].error instanceof NotFoundError);
    assert.equal((await s.intentGet({ id: a.id }))?.state, "fulfilled");
    assert.equal((await s.intentGet({ id: b.id }))?.lastError, "e");
  });

  test("ackMany of many fulfils stores each, replays a repeat, and refuses a lost or unknown one alone", async (s) => {
    for (let i = 0; i < 4; i++) {
      await s.intentInsert(publish({ now: T0 + i, runAt: T0 }));
    }
    const [a, b, c, d] = await s.intentClaim(claim({ now: T0 + 5, max: 4 }));
    const fulfil = (id: string, token: string, n: number) => ({
      kind: "fulfil" as const,
      id,
      token,
      caller: "worker",
      now: T0 + 6,
      result: { n },
      resultType: "json" as const,
    });
    const res = await s.intentAckMany({
      items: [
        fulfil(a.id, a.claimToken, 1),
        fulfil(b.id, "0".repeat(32), 2),
        fulfil(c.id, c.claimToken, 3),
        fulfil("f".repeat(32), c.claimToken, 4),
        fulfil(d.id, d.claimToken, 5),
      ],
    });
    assert.deepEqual(res.map((r) => r.ok), [true, false, true, false, true]);
    assert.ok(!res[1].ok && res[1].error instanceof LeaseLostError);
    assert.ok(!res[3].ok && res[3].error instanceof NotFoundError);
    for (const [i, x, n] of [[0, a, 1], [2, c, 3], [4, d, 5]] as const) {
      const r = res[i];
      assert.ok(r.ok);
      assert.equal(r.intent.id, x.id);
      assert.equal(r.intent.state, "fulfilled");
      assert.deepEqual(r.intent.result, { n });
      const stored = await s.intentGet({ id: x.id });
      assert.deepEqual(stored?.result, { n });
      assert.equal(stored?.completedAt, T0 + 6);
      assert.equal(stored?.leaseExpiresAt, null);
    }
    assert.equal((await s.intentGet({ id: b.id }))?.state, "claimed");
    // The same acknowledgements again: each a replay that changes nothing.
    const again = await s.intentAckMany({
      items: [fulfil(a.id, a.claimToken, 9), fulfil(c.id, c.claimToken, 9)],
    });
    assert.deepEqual(
      again.map((r) => r.ok && r.intent.state),
      ["fulfilled", "fulfilled"],
    );
    assert.deepEqual((await s.intentGet({ id: a.id }))?.result, { n: 1 });
  });

  test("fulfils sent together each get their own outcome, as if sent alone", async (s) => {
    for (let i = 0; i < 3; i++) {
      await s.intentInsert(publish({ now: T0 + i, runAt: T0 }));
    }
    const [a, b, c] = await s.intentClaim(claim({ now: T0 + 5, max: 3 }));
    const fulfil = (id: string, token: string, n: number) =>
      s.intentFulfil({
        id,
        token,
        caller: "worker",
        now: T0 + 6,
        result: { n },
        resultType: "json",
      });
    // One turn: a store may serve them with one statement.
    const out = await Promise.allSettled([
      fulfil(a.id, a.claimToken, 1),
      fulfil(b.id, "0".repeat(32), 2),
      fulfil("f".repeat(32), c.claimToken, 3),
      fulfil(c.id, c.claimToken, 4),
      fulfil(c.id, c.claimToken, 5),
    ]);
    assert.deepEqual(out.map((o) => o.status), [
      "fulfilled",
      "rejected",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    const reason = (i: number) => (out[i] as PromiseRejectedResult).reason;
    assert.ok(reason(1) instanceof LeaseLostError, String(reason(1)));
    assert.ok(reason(2) instanceof NotFoundError, String(reason(2)));
    const value = (i: number) =>
      (out[i] as PromiseFulfilledResult<Intent>).value;
    assert.equal(value(0).id, a.id);
    assert.deepEqual(value(0).result, { n: 1 });
    // The same token twice: the first stores, the second is a replay.
    assert.deepEqual((await s.intentGet({ id: c.id }))?.result, { n: 4 });
    assert.equal(value(4).state, "fulfilled");
    assert.equal((await s.intentGet({ id: b.id }))?.state, "claimed");
  });
}

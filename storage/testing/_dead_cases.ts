// Conformance cases for the dead-letter table: cancel, retry, list,
// redrive, purge.

import assert from "node:assert/strict";
import { ConflictError, NotFoundError } from "../../core/errors.ts";
import type { Storage } from "../storage.ts";
import { type Case, claim, DAY, fulfilOf, publish, T0 } from "./_fixtures.ts";

async function cancelled(s: Storage, over = {}, now = T0) {
  const p = publish(over);
  await s.intentInsert(p);
  return await s.intentCancel({ id: p.id, now });
}

function isCode(code: string) {
  return (err: unknown) => err instanceof ConflictError && err.code === code;
}

/** Registers the dead-letter cases. */
export function deadCases(test: Case): void {
  test("cancel dead-letters an open or a claimed intent", async (s) => {
    const open = await cancelled(s);
    assert.equal(open.state, "dead");
    assert.equal(open.deadReason, "cancelled");
    await s.intentInsert(publish());
    const [c] = await s.intentClaim(claim());
    const i = await s.intentCancel({ id: c.id, now: T0 + 1 });
    assert.equal(i.deadReason, "cancelled");
    assert.deepEqual(await s.intentClaim(claim()), []);
  });

  test("cancel refuses fulfilled and dead intents with invalid_state", async (s) => {
    const dead = await cancelled(s);
    await assert.rejects(
      s.intentCancel({ id: dead.id, now: T0 }),
      isCode("invalid_state"),
    );
    await s.intentInsert(publish());
    const [c] = await s.intentClaim(claim());
    await s.intentFulfil(fulfilOf(c));
    await assert.rejects(
      s.intentCancel({ id: c.id, now: T0 }),
      isCode("invalid_state"),
    );
    await assert.rejects(
      s.intentCancel({ id: "a".repeat(32), now: T0 }),
      NotFoundError,
    );
  });

  test("retry brings a dead intent back open with attempts reset and a new expiry", async (s) => {
    const c = await (async () => {
      await s.intentInsert(publish({ maxAttempts: 1 }));
      return (await s.intentClaim(claim()))[0];
    })();
    await s.intentFail({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      error: "boom",
      jitter: 0,
      now: T0,
    });
    const later = T0 + 3 * DAY;
    const i = await s.intentRetry({ id: c.id, now: later });
    assert.equal(i.state, "open");
    assert.equal(i.claimAttempts, 0);
    assert.equal(i.runAt, later);
    assert.equal(i.expiresAt, later + DAY);
    assert.equal(i.deadReason, null);
    assert.deepEqual(await s.deadList({ limit: 10 }), []);
    const [again] = await s.intentClaim(claim({ now: later }));
    assert.equal(again.id, c.id);
  });

  test("retry refuses a live intent with invalid_state and an unknown one with NotFoundError", async (s) => {
    const p = publish();
    await s.intentInsert(p);
    await assert.rejects(
      s.intentRetry({ id: p.id, now: T0 }),
      isCode("invalid_state"),
    );
    await assert.rejects(
      s.intentRetry({ id: "b".repeat(32), now: T0 }),
      NotFoundError,
    );
  });

  test("deadList lists newest first, filters, and pages with before", async (s) => {
    const a = await cancelled(s, {}, T0 + 1);
    const b = await cancelled(s, { goal: "h" }, T0 + 2);
    const c = await cancelled(s, { namespace: "x" }, T0 + 3);
    const ids = (l: { id: string }[]) => l.map((i) => i.id);
    assert.deepEqual(ids(await s.deadList({ limit: 10 })), [c.id, b.id, a.id]);
    assert.deepEqual(ids(await s.deadList({ limit: 2 })), [c.id, b.id]);
    assert.deepEqual(ids(await s.deadList({ limit: 10, before: T0 + 2 })), [
      a.id,
    ]);
    assert.deepEqual(ids(await s.deadList({ limit: 10, namespace: "ns" })), [
      b.id,
      a.id,
    ]);
    assert.deepEqual(
      ids(await s.deadList({ limit: 10, namespace: "ns", goal: "g" })),
      [a.id],
    );
    assert.deepEqual(ids(await s.deadList({ limit: 10, ids: [a.id, c.id] })), [
      c.id,
      a.id,
    ]);
  });

  test("deadList pages with before and beforeId through deaths in one millisecond, each intent once", async (s) => {
    // Six die in one millisecond (one batch of failures does that), others
    // around them by every road to the dead letters; one of another goal.
    const at = T0 + 5;
    for (let i = 0; i < 5; i++) await cancelled(s, {}, at);
    await s.intentInsert(publish({ maxAttempts: 1 }));
    const [c] = await s.intentClaim(claim());
    await s.intentFail({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      error: "boom",
      jitter: 0,
      now: at,
    });
    await cancelled(s, { goal: "h" }, at);
    await cancelled(s, {}, at + 1);
    await cancelled(s, {}, at - 1);
    await s.intentInsert(publish({ maxAttempts: 1 }));
    await s.intentClaim(claim({ now: at }));
    await s.intentInsert(publish({ expiresAt: at + 60_000 }));
    await s.leaseReap({ now: at + 60_000, jitter: 0 });

    const all = await s.deadList({ goal: "g", limit: 100 });
    assert.equal(all.length, 10);
    const key = (i: { updatedAt: number; id: string }) =>
      `${String(i.updatedAt).padStart(16, "0")}:${i.id}`;
    assert.deepEqual(
      all.map(key),
      all.map(key).sort().reverse(),
      "newest first by (death time, id), a dead intent's updatedAt its death",
    );
    const paged: string[] = [];
    let page = await s.deadList({ goal: "g", limit: 2 });
    while (page.length > 0) {
      paged.push(...page.map((i) => i.id));
      const last = page[page.length - 1];
      page = await s.deadList({
        goal: "g",
        limit: 2,
        before: last.updatedAt,
        beforeId: last.id,
      });
    }
    assert.deepEqual(paged, all.map((i) => i.id));
    // Without beforeId, before keeps its meaning: died strictly before it.
    assert.deepEqual(
      (await s.deadList({ goal: "g", limit: 100, before: at })).map(key),
      all.filter((i) => i.updatedAt < at).map(key),
    );
  });

  test("deadRedrive reopens the matching dead intents", async (s) => {
    const a = await cancelled(s);
    const b = await cancelled(s, { goal: "h" });
    const out = await s.deadRedrive({ goal: "g", limit: 10, now: T0 + 5 });
    assert.deepEqual(out.map((i) => i.id), [a.id]);
    assert.equal(out[0].state, "open");
    assert.equal((await s.intentGet({ id: a.id }))?.state, "open");
    assert.equal((await s.intentGet({ id: b.id }))?.state, "dead");
    const rest = await s.deadRedrive({ ids: [b.id], limit: 10, now: T0 + 5 });
    assert.equal(rest.length, 1);
    assert.deepEqual(await s.deadList({ limit: 10 }), []);
  });

  test("intentPurge deletes live and dead intents of one namespace, or all", async (s) => {
    await s.intentInsert(publish());
    await cancelled(s);
    const other = publish({ namespace: "other" });
    await s.intentInsert(other);
    assert.equal(await s.intentPurge({ namespace: "ns", now: T0 }), 2);
    assert.equal((await s.statsGet({ now: T0 })).states.dead, 0);
    assert.ok(await s.intentGet({ id: other.id }));
    assert.equal(await s.intentPurge({ namespace: null, now: T0 }), 1);
    assert.equal(await s.intentGet({ id: other.id }), null);
  });

  test("intentPurge with a limit deletes at most that many of each table, and nothing created after now", async (s) => {
    for (let i = 0; i < 3; i++) await s.intentInsert(publish());
    for (let i = 0; i < 2; i++) await cancelled(s);
    const later = publish({ now: T0 + 1 });
    await s.intentInsert(later);
    const chunks = [];
    for (let n = -1; n !== 0;) {
      n = await s.intentPurge({ namespace: null, now: T0, limit: 2 });
      chunks.push(n);
    }
    assert.deepEqual(chunks, [4, 1, 0]);
    const stats = await s.statsGet({ now: T0 + 1 });
    assert.equal(stats.states.open, 1);
    assert.equal(stats.states.dead, 0);
    assert.ok(await s.intentGet({ id: later.id }));
  });
}

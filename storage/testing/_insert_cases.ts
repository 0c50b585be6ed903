// Conformance cases for publishing: idempotency, quota, batches, and
// concurrent writes committed together.

import assert from "node:assert/strict";
import { ConflictError, LimitError } from "../../core/errors.ts";
import { type Case, claim, fulfilOf, publish, T0 } from "./_fixtures.ts";

/** Registers the insert cases. */
export function insertCases(test: Case): void {
  test("insert stores an open intent that intentGet reads back", async (s) => {
    const p = publish({ payload: { deep: [1, "two", null, { x: true }] } });
    const { intent, replayed } = await s.intentInsert(p);
    assert.equal(replayed, false);
    assert.equal(intent.state, "open");
    assert.deepEqual(intent.payload, p.payload);
    assert.equal(intent.claimAttempts, 0);
    assert.equal(intent.claimToken, null);
    assert.deepEqual(await s.intentGet({ id: p.id }), intent);
    assert.equal(await s.intentGet({ id: "c".repeat(32) }), null);
  });

  test("insert of an existing id is a ConflictError, never a raw database error", async (s) => {
    const p = publish();
    await s.intentInsert(p);
    await assert.rejects(s.intentInsert({ ...p }), ConflictError);
  });

  test("a replay with the same idempotency key and request returns the stored intent", async (s) => {
    const p = publish({ idempotencyKey: "k1", requestHash: "h1" });
    const first = await s.intentInsert(p);
    const again = await s.intentInsert({ ...p, id: "d".repeat(32) });
    assert.equal(again.replayed, true);
    assert.equal(again.intent.id, p.id);
    // Still replayed once the intent is dead.
    await s.intentCancel({ id: p.id, now: T0 });
    const late = await s.intentInsert({ ...p, id: "e".repeat(32) });
    assert.equal(late.replayed, true);
    assert.equal(late.intent.id, first.intent.id);
    assert.equal(late.intent.state, "dead");
    // Keys are per publisher.
    const other = await s.intentInsert({
      ...p,
      id: "f".repeat(32),
      publisher: "x",
    });
    assert.equal(other.replayed, false);
  });

  test("reusing an idempotency key for a different request is idempotency_conflict", async (s) => {
    await s.intentInsert(publish({ idempotencyKey: "k", requestHash: "h1" }));
    await assert.rejects(
      s.intentInsert(publish({ idempotencyKey: "k", requestHash: "h2" })),
      (e) => e instanceof ConflictError && e.code === "idempotency_conflict",
    );
  });

  test("insert over the publisher's quota of open and claimed intents is LimitError", async (s) => {
    const q = { publisher: "alice", quota: 2 };
    await s.intentInsert(publish(q));
    await s.intentInsert(publish(q));
    await assert.rejects(s.intentInsert(publish(q)), LimitError);
    await s.intentInsert(publish({ publisher: "bob", quota: 2 }));
    await s.intentInsert(publish({ publisher: "alice", quota: null }));
    // Finishing one frees a slot.
    const [c] = await s.intentClaim(claim({ publisher: "alice" }));
    await s.intentFulfil(fulfilOf(c, { result: 1 }));
    await assert.rejects(s.intentInsert(publish(q)), LimitError);
    const [d] = await s.intentClaim(claim({ publisher: "alice" }));
    await s.intentCancel({ id: d.id, now: T0 });
    await s.intentInsert(publish(q));
  });

  test("intents inserted without a quota count against the publisher's quota of a later insert", async (s) => {
    const q = { publisher: "alice", quota: 3 };
    await s.intentInsert(publish(q));
    await s.intentInsert(publish({ publisher: "alice", quota: null }));
    await s.intentInsert(publish({ publisher: "alice", quota: null }));
    await assert.rejects(s.intentInsert(publish(q)), LimitError);
  });

  test("an atomic insertMany stores nothing when one item fails", async (s) => {
    const items = [
      publish({ quota: 2 }),
      publish({ quota: 2 }),
      publish({ quota: 2 }),
    ];
    const res = await s.intentInsertMany({ items, atomic: true });
    assert.equal(res.length, 3);
    assert.ok(res.every((r) => !r.ok));
    assert.ok(!res[2].ok && res[2].error instanceof LimitError);
    assert.equal((await s.statsGet({ now: T0 })).states.open, 0);
    const ok = await s.intentInsertMany({
      items: items.slice(0, 2),
      atomic: true,
    });
    assert.ok(ok.every((r) => r.ok && !r.replayed));
    assert.equal((await s.statsGet({ now: T0 })).states.open, 2);
  });

  test("a non-atomic insertMany stores every item that can be stored", async (s) => {
    const items = [
      publish({ idempotencyKey: "a", requestHash: "1" }),
      publish({ idempotencyKey: "a", requestHash: "2" }),
      publish({ idempotencyKey: "a", requestHash: "1" }),
      publish(),
    ];
    const res = await s.intentInsertMany({ items, atomic: false });
    assert.equal(res[0].ok && res[0].replayed, false);
    assert.ok(!res[1].ok && res[1].error instanceof ConflictError);
    assert.equal(res[2].ok && res[2].intent.id, items[0].id);
    assert.equal(res[3].ok, true);
    assert.equal((await s.statsGet({ now: T0 })).states.open, 2);
  });

  test("insertMany of plain items stores each as intentInsert does, and a taken id fails alone", async (s) => {
    const full = {
      payload: { text: 'héllo "quoted" ✓', n: [1, 2.5, null] },
      priority: 7,
      visibility: "private" as const,
      targetWorker: "pi-1",
      requiredCapability: "gpu",
      maxAttempts: 5,
      backoffBase: 2,
      runAt: T0 + 10,
      expiresAt: T0 + 1000,
    };
    const single = publish(full);
    await s.intentInsert(single);
    const items = [publish(full), publish(), publish({ publisher: "bob" })];
    const res = await s.intentInsertMany({ items, atomic: false });
    assert.ok(res.every((r) => r.ok && !r.replayed));
    const a = await s.intentGet({ id: single.id });
    const b = await s.intentGet({ id: items[0].id });
    assert.deepEqual({ ...b, id: a?.id }, a);
    for (const [i, r] of res.entries()) {
      assert.deepEqual(
        r.ok && r.intent,
        await s.intentGet({ id: items[i].id }),
      );
    }
    // An id already taken, live or dead, fails only its own item.
    await s.intentCancel({ id: items[1].id, now: T0 });
    const again = [publish(), { ...publish(), id: items[0].id }, {
      ...publish(),
      id: items[1].id,
    }, publish()];
    const res2 = await s.intentInsertMany({ items: again, atomic: false });
    assert.deepEqual(res2.map((r) => r.ok), [true, false, false, true]);
    assert.ok(!res2[1].ok && res2[1].error instanceof ConflictError);
    assert.ok(!res2[2].ok && res2[2].error instanceof ConflictError);
    assert.equal((await s.statsGet({ now: T0 })).states.open, 5);
  });

  test("insertMany of plain items: a repeated id stores its first item only, and an atomic batch with a taken id stores none", async (s) => {
    const first = publish({ payload: { n: 1 } });
    const items = [first, { ...publish({ payload: { n: 2 } }), id: first.id }];
    const res = await s.intentInsertMany({ items, atomic: false });
    assert.deepEqual(res.map((r) => r.ok), [true, false]);
    assert.ok(!res[1].ok && res[1].error instanceof ConflictError);
    assert.deepEqual((await s.intentGet({ id: first.id }))?.payload, { n: 1 });
    const atomic = [publish(), { ...publish(), id: first.id }, publish()];
    const res2 = await s.intentInsertMany({ items: atomic, atomic: true });
    assert.deepEqual(res2.map((r) => r.ok), [false, false, false]);
    assert.ok(!res2[1].ok && res2[1].error instanceof ConflictError);
    assert.equal(await s.intentGet({ id: atomic[0].id }), null);
    assert.equal((await s.statsGet({ now: T0 })).states.open, 1);
  });

  test("concurrent writes each succeed or fail on their own", async (s) => {
    const p = publish();
    const results = await Promise.allSettled([
      s.intentInsert(p),
      s.intentInsert({ ...p }),
      s.intentInsert(publish()),
      s.kvSet({ owner: "o", key: "k", value: 1, expiresAt: T0 + 1, now: T0 }),
    ]);
    assert.deepEqual(results.map((r) => r.status), [
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    assert.equal((await s.statsGet({ now: T0 })).states.open, 2);
  });
}

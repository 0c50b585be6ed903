import assert from "node:assert/strict";
import { claim, publish, T0 } from "../testing/_fixtures.ts";
import { openTempStore } from "./_temp.ts";
import { openSqliteStore } from "./open.ts";
import { INTENT_PUBLISH } from "./sql.ts";

Deno.test("a publish right after an empty claim is claimable at once", async () => {
  const { store } = await openTempStore();
  try {
    assert.deepEqual(await store.intentClaim(claim()), []);
    assert.deepEqual(await store.intentClaim(claim()), []);
    const { intent } = await store.intentInsert(publish());
    const got = await store.intentClaim(claim());
    assert.deepEqual(got.map((i) => i.id), [intent.id]);
  } finally {
    await store.close();
  }
});

Deno.test("a delayed intent becomes claimable at its run_at after empty claims", async () => {
  const { store } = await openTempStore();
  try {
    const { intent } = await store.intentInsert(publish({ runAt: T0 + 5000 }));
    assert.deepEqual(await store.intentClaim(claim({ now: T0 })), []);
    assert.deepEqual(await store.intentClaim(claim({ now: T0 + 4999 })), []);
    const got = await store.intentClaim(claim({ now: T0 + 5000 }));
    assert.deepEqual(got.map((i) => i.id), [intent.id]);
  } finally {
    await store.close();
  }
});

Deno.test("an insert by another connection to the file is seen by the next claim", async () => {
  const { store, path } = await openTempStore();
  const other = await openSqliteStore({ path });
  try {
    assert.deepEqual(await store.intentClaim(claim()), []);
    const { intent } = await other.intentInsert(publish());
    const got = await store.intentClaim(claim());
    assert.deepEqual(got.map((i) => i.id), [intent.id]);
  } finally {
    await other.close();
    await store.close();
  }
});

Deno.test("a release, a failure with retry and a reap each make their intent claimable after empty claims", async () => {
  const { store } = await openTempStore();
  try {
    const { intent } = await store.intentInsert(publish({ backoffBase: 1 }));
    let [c] = await store.intentClaim(claim());
    assert.deepEqual(await store.intentClaim(claim()), []);
    await store.intentRelease({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      now: T0,
    });
    [c] = await store.intentClaim(claim());
    assert.equal(c.id, intent.id);
    assert.deepEqual(await store.intentClaim(claim()), []);
    const failed = await store.intentFail({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      error: "boom",
      jitter: 0,
      now: T0,
    });
    assert.equal(failed.state, "open");
    assert.deepEqual(await store.intentClaim(claim({ now: T0 })), []);
    [c] = await store.intentClaim(claim({ now: failed.runAt }));
    assert.equal(c.id, intent.id);
    // The lease runs out; the reaper reopens it.
    const later = failed.runAt + 60_000;
    assert.deepEqual(await store.intentClaim(claim({ now: later })), []);
    const reaped = await store.leaseReap({ now: later, jitter: 0 });
    assert.equal(reaped.retried, 1);
    const again = await store.intentClaim(claim({ now: later + 3_600_000 }));
    assert.deepEqual(again.map((i) => i.id), [intent.id]);
  } finally {
    await store.close();
  }
});

Deno.test("an empty goal is answered from memory until the store writes to it", async () => {
  const { store } = await openTempStore();
  try {
    assert.deepEqual(await store.intentClaim(claim()), []);
    // A row written behind the store's back, on its own connection: neither
    // a store write nor another connection's commit, so nothing says look.
    const hidden = publish();
    const h = hidden;
    store.db.prepare(INTENT_PUBLISH).run(
      ...[h.id, h.namespace, h.goal, JSON.stringify(h.payload), h.priority],
      ...[h.visibility, h.targetWorker, h.requiredCapability, h.publisher],
      ...[h.maxAttempts, h.backoffBase, h.runAt, h.expiresAt, h.now],
    );
    assert.deepEqual(await store.intentClaim(claim()), []);
    // Another goal's write leaves the memory of this one alone.
    await store.intentInsert(publish({ goal: "other" }));
    assert.deepEqual(await store.intentClaim(claim()), []);
    // A write to the goal clears it: both intents are now seen.
    await store.intentInsert(publish());
    const got = await store.intentClaim(claim({ max: 10 }));
    assert.equal(got.length, 2);
    assert.ok(got.some((i) => i.id === hidden.id));
  } finally {
    await store.close();
  }
});

Deno.test("a goal with due intents the caller may not take is asked again each time", async () => {
  const { store } = await openTempStore();
  try {
    await store.intentInsert(publish({ targetWorker: "w1" }));
    assert.deepEqual(await store.intentClaim(claim({ workerId: "w2" })), []);
    const got = await store.intentClaim(claim({ workerId: "w1" }));
    assert.equal(got.length, 1);
  } finally {
    await store.close();
  }
});

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

/** Writes a row behind the store's back, on its own connection (see above). */
function hide(
  store: { db: { prepare(sql: string): { run(...a: unknown[]): unknown } } },
  h: ReturnType<typeof publish>,
): void {
  store.db.prepare(INTENT_PUBLISH).run(
    ...[h.id, h.namespace, h.goal, JSON.stringify(h.payload), h.priority],
    ...[h.visibility, h.targetWorker, h.requiredCapability, h.publisher],
    ...[h.maxAttempts, h.backoffBase, h.runAt, h.expiresAt, h.now],
  );
}

Deno.test("a worker targeted elsewhere is answered from memory, and a targeted worker still gets its intents", async () => {
  const { store } = await openTempStore();
  try {
    await store.intentInsert(publish({ targetWorker: "w1" }));
    assert.deepEqual(await store.intentClaim(claim({ workerId: "w2" })), []);
    const hidden = publish();
    hide(store, hidden);
    // Remembered for w2's filters: the hidden public intent is not seen.
    assert.deepEqual(await store.intentClaim(claim({ workerId: "w2" })), []);
    const got = await store.intentClaim(claim({ workerId: "w1", max: 10 }));
    assert.equal(
      got.length,
      2,
      "w1's own claim is not answered from w2's memory",
    );
  } finally {
    await store.close();
  }
});

Deno.test("another key's private intents are remembered for the caller: its publishes leave the memory, the caller's and public ones clear it", async () => {
  const { store } = await openTempStore();
  const a = { visibility: "private" as const, publisher: "key-a" };
  const asB = claim({ caller: "key-b" });
  try {
    await store.intentInsert(publish(a));
    assert.deepEqual(await store.intentClaim(asB), []);
    // A's private publishes are not for B: B's memory stays.
    await store.intentInsert(publish(a));
    const hidden = publish();
    hide(store, hidden);
    assert.deepEqual(await store.intentClaim(asB), []);
    // The master key sees A's intents: not answered from B's memory.
    const master = await store.intentClaim(
      claim({ caller: "master", master: true, max: 10 }),
    );
    assert.equal(master.length, 3);
    // A public publish clears B's memory: B now sees it and the hidden one.
    const pub = publish({ goal: "g" });
    const { intent } = await store.intentInsert(pub);
    const got = await store.intentClaim({ ...asB, max: 10 });
    assert.deepEqual(got.map((i) => i.id).sort(), [intent.id].sort());
  } finally {
    await store.close();
  }
});

Deno.test("a caller's own private publish clears its memory of the goal", async () => {
  const { store } = await openTempStore();
  const asB = claim({ caller: "key-b" });
  try {
    await store.intentInsert(
      publish({ visibility: "private", publisher: "key-a" }),
    );
    assert.deepEqual(await store.intentClaim(asB), []);
    const { intent } = await store.intentInsert(
      publish({ visibility: "private", publisher: "key-b" }),
    );
    const got = await store.intentClaim(asB);
    assert.deepEqual(got.map((i) => i.id), [intent.id]);
  } finally {
    await store.close();
  }
});

Deno.test('a worker id "null" is not the absence of one: each has its own memory', async () => {
  const { store } = await openTempStore();
  try {
    const { intent } = await store.intentInsert(
      publish({ targetWorker: "null" }),
    );
    assert.deepEqual(await store.intentClaim(claim({ workerId: null })), []);
    const got = await store.intentClaim(claim({ workerId: "null" }));
    assert.deepEqual(got.map((i) => i.id), [intent.id]);
  } finally {
    await store.close();
  }
});

Deno.test("a reap that puts nothing back leaves the memory of a filter; one that does clears it", async () => {
  const { store } = await openTempStore();
  try {
    await store.intentInsert(publish({ targetWorker: "w1" }));
    assert.deepEqual(await store.intentClaim(claim({ workerId: "w2" })), []);
    const hidden = publish();
    hide(store, hidden);
    await store.leaseReap({ now: T0, jitter: 0 });
    assert.deepEqual(await store.intentClaim(claim({ workerId: "w2" })), []);
    // A lease put back: the memory goes, and w2 sees the hidden intent too.
    await store.intentInsert(publish({ goal: "other" }));
    const [c] = await store.intentClaim(claim({ goal: "other" }));
    assert.ok(c);
    const r = await store.leaseReap({ now: T0 + 61_000, jitter: 0 });
    assert.equal(r.retried, 1);
    const got = await store.intentClaim(
      claim({ workerId: "w2", now: T0 + 61_000 }),
    );
    assert.deepEqual(got.map((i) => i.id), [hidden.id]);
  } finally {
    await store.close();
  }
});

Deno.test("retention and a purge leave the memory of a filter: deleting makes nothing claimable", async () => {
  const { store } = await openTempStore();
  try {
    await store.intentInsert(publish({ targetWorker: "w1" }));
    await store.intentInsert(publish({ namespace: "gone" }));
    assert.deepEqual(await store.intentClaim(claim({ workerId: "w2" })), []);
    const hidden = publish();
    hide(store, hidden);
    await store.maintenanceRun({ now: T0, retentionMs: 1000 });
    await store.intentPurge({ namespace: "gone", now: T0 });
    assert.deepEqual(await store.intentClaim(claim({ workerId: "w2" })), []);
    // A write to the goal still clears it.
    await store.intentInsert(publish({ targetWorker: "w9" }));
    const got = await store.intentClaim(claim({ workerId: "w2" }));
    assert.deepEqual(got.map((i) => i.id), [hidden.id]);
  } finally {
    await store.close();
  }
});

import assert from "node:assert/strict";
import { LeaseLostError, ValidationError } from "../../core/errors.ts";
import { storageConformance } from "../testing/mod.ts";
import { claim, fulfilOf, publish, T0 } from "../testing/_fixtures.ts";
import { openTempPgStore } from "./_temp.ts";

// The whole suite, each case in a fresh schema of a throwaway cluster.
storageConformance(
  "postgres",
  async () => (await openTempPgStore({ poolSize: 4 })).store,
);

Deno.test("postgres: text with a NUL character is a ValidationError and stores nothing; a worker's error text keeps the rest", async () => {
  const { store } = await openTempPgStore();
  try {
    await assert.rejects(
      store.intentInsert(publish({ goal: "a\u0000b" })),
      ValidationError,
    );
    await assert.rejects(
      store.kvSet({
        owner: "o",
        key: "k\u0000",
        value: 1,
        expiresAt: T0 + 1,
        now: T0,
      }),
      ValidationError,
    );
    assert.equal((await store.statsGet({ now: T0 })).states.open, 0);
    // Inside a JSON payload a NUL is an escape, not a byte: stored as sent.
    const p = publish({ payload: { s: "x\u0000y" } });
    await store.intentInsert(p);
    const [c] = await store.intentClaim(claim());
    assert.deepEqual(c.payload, { s: "x\u0000y" });
    const failed = await store.intentFail({
      id: c.id,
      token: c.claimToken,
      caller: "worker",
      now: T0 + 1,
      error: "bad\u0000byte",
      jitter: 0,
    });
    assert.equal(failed.lastError, "bad\uFFFDbyte");
  } finally {
    await store.close();
  }
});

Deno.test("postgres: a lease call racing a late fulfil that brings its intent back from the dead letters says lease_lost, never not_found", async () => {
  const { store } = await openTempPgStore({ poolSize: 4 });
  try {
    for (let round = 0; round < 40; round++) {
      const p = publish({ maxAttempts: 1 });
      await store.intentInsert(p);
      const [c] = await store.intentClaim(claim());
      const later = T0 + 61_000 * (round + 1);
      await store.leaseReap({ now: later, jitter: 0 });
      const [fulfil, extend] = await Promise.allSettled([
        store.intentFulfil(fulfilOf(c, { now: later })),
        store.leaseExtend({
          id: c.id,
          token: "f".repeat(32),
          caller: "worker",
          now: later,
          leaseMs: 60_000,
        }),
      ]);
      assert.equal(fulfil.status, "fulfilled", `round ${round}`);
      assert.equal(extend.status, "rejected");
      assert.ok(
        extend.reason instanceof LeaseLostError,
        `round ${round}: ${extend.reason}`,
      );
    }
  } finally {
    await store.close();
  }
});

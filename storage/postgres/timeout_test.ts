// Calls held up longer than the store's timeout by a table lock another
// session holds: PostgreSQL cancels their statements itself, so a BusyError
// means nothing was done, no session is left waiting beyond the pool, and
// a batch fails whole at its first timeout instead of item by item.

import assert from "node:assert/strict";
import pg from "pg";
import { BusyError } from "../../core/errors.ts";
import type { Storage } from "../storage.ts";
import { claim, failOf, publish, T0 } from "../testing/_fixtures.ts";
import { createDatabase, runOnce } from "./_cluster.ts";
import { testCluster } from "./_temp.ts";
import { openPostgresStore } from "./open.ts";

/** A store on a database of its own, and a session that can lock its tables. */
async function setUp(timeoutMs: number) {
  const db = await createDatabase(testCluster().url);
  const name = new URL(db.url).pathname.slice(1);
  const store = await openPostgresStore({
    url: db.url,
    poolSize: 2,
    timeoutMs,
  });
  const locker = new pg.Client({ connectionString: db.url });
  await locker.connect();
  const lockerPid = Number(
    (await locker.query("SELECT pg_backend_pid() AS p")).rows[0].p,
  );
  /** The store's sessions: all on the database but the locker's and ours. */
  const sessions = async (where = "true") =>
    Number(
      (await runOnce(
        db.url,
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '${name}'
         AND pid NOT IN (pg_backend_pid(), ${lockerPid}) AND ${where}`,
      ))[0].n,
    );
  return {
    store,
    sessions,
    lock: () =>
      locker.query("BEGIN; LOCK TABLE intents IN ACCESS EXCLUSIVE MODE"),
    unlock: async () => {
      await locker.query("COMMIT");
      // What still waited on the lock runs now: let it finish.
      const end = Date.now() + 20_000;
      while (await sessions("wait_event_type = 'Lock'") > 0) {
        assert.ok(Date.now() < end, "sessions still wait on the lock");
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: async () => {
      await locker.end();
      await store.close();
      await db.drop();
    },
  };
}

/** Open intents and claim attempts, as stored. */
async function stored(store: Storage) {
  const { states } = await store.statsGet({ now: T0 });
  return states;
}

Deno.test("postgres: a claim and publishes that time out behind a lock are a BusyError, do nothing, and leave no session beyond the pool", async () => {
  const t = await setUp(500);
  try {
    const first = publish({ maxAttempts: 1 });
    await t.store.intentInsert(first);
    await t.lock();
    await assert.rejects(t.store.intentClaim(claim()), BusyError);
    for (let round = 0; round < 3; round++) {
      const publishes = await Promise.allSettled(
        Array.from({ length: 4 }, () => t.store.intentInsert(publish())),
      );
      for (const r of publishes) {
        assert.equal(r.status, "rejected");
        assert.ok(r.reason instanceof BusyError, String(r.reason));
      }
    }
    // Cancelled by PostgreSQL, the pool's two connections serve again:
    // none was dropped for a new one while its statement still waited.
    assert.ok(await t.sessions() <= 2, `${await t.sessions()} sessions`);
    await t.unlock();
    assert.deepEqual(await stored(t.store), {
      open: 1,
      claimed: 0,
      fulfilled: 0,
      dead: 0,
    });
    const again = await t.store.intentGet({ id: first.id });
    assert.equal(again?.claimAttempts, 0);
    const [c] = await t.store.intentClaim(claim());
    assert.equal(c.id, first.id);
  } finally {
    await t.close();
  }
});

Deno.test("postgres: a batch fails whole at its first timeout, writing nothing, instead of trying each item", async () => {
  const t = await setUp(500);
  try {
    const leased = [];
    for (let i = 0; i < 5; i++) await t.store.intentInsert(publish());
    leased.push(...await t.store.intentClaim(claim({ max: 5 })));
    await t.lock();
    const batch = t.store.intentInsertMany({
      items: Array.from(
        { length: 10 },
        (_, i) => publish({ idempotencyKey: `k${i}`, requestHash: "h" }),
      ),
      atomic: false,
    });
    const acks = t.store.intentAckMany({
      items: leased.map((c) => ({
        kind: "fail" as const,
        ...failOf(c, { now: T0 + 1 }),
      })),
    });
    // Item by item, the batches would still be waiting: the lock is
    // released after at most a few timeouts, whatever they did.
    let settled = 0;
    for (const p of [batch, acks]) p.then(() => settled++, () => settled++);
    const end = Date.now() + 2_000;
    while (settled < 2 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await t.unlock();
    await assert.rejects(batch, BusyError);
    await assert.rejects(acks, BusyError);
    assert.deepEqual(await stored(t.store), {
      open: 0,
      claimed: 5,
      fulfilled: 0,
      dead: 0,
    });
  } finally {
    await t.close();
  }
});

Deno.test("postgres: a claim held up behind a lock gets a lease from when it ran, not one already over", async () => {
  const t = await setUp(20_000);
  try {
    await t.store.intentInsert(publish());
    await t.lock();
    const claimed = t.store.intentClaim(claim({ leaseMs: 1_000 }));
    const end = Date.now() + 10_000;
    while (await t.sessions("wait_event_type = 'Lock'") === 0) {
      assert.ok(Date.now() < end, "the claim never waited on the lock");
      await new Promise((r) => setTimeout(r, 20));
    }
    // The hold-up itself: the claim waits at least this long.
    const heldMs = 1_500;
    await new Promise((r) => setTimeout(r, heldMs));
    await t.unlock();
    const [c] = await claimed;
    assert.ok(
      c.leaseExpiresAt >= T0 + 1_000 + heldMs,
      `lease ends ${c.leaseExpiresAt - T0} ms after the claim was asked`,
    );
    const stored = await t.store.intentGet({ id: c.id });
    assert.equal(stored?.leaseExpiresAt, c.leaseExpiresAt);
  } finally {
    await t.close();
  }
});

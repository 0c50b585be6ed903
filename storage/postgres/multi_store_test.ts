// Several servers share one PostgreSQL queue: here, several stores (each its
// own pool, as each server has) on one schema, racing for the same rows.

import assert from "node:assert/strict";
import { BusyError } from "../../core/errors.ts";
import type { Storage } from "../storage.ts";
import { claim, publish, T0 } from "../testing/_fixtures.ts";
import { startCluster } from "./_cluster.ts";
import { openTempPgStore } from "./_temp.ts";
import { openPostgresStore } from "./open.ts";

/** A fresh schema opened by `n` stores at once (so they also migrate at once). */
async function shared(n: number): Promise<[Storage[], () => Promise<void>]> {
  const first = await openTempPgStore({ poolSize: 4 });
  // The others open the same schema concurrently: one migrates, all work.
  await first.store.close();
  const stores = await Promise.all(
    Array.from(
      { length: n },
      () =>
        openPostgresStore({
          url: first.url,
          schema: first.schema,
          poolSize: 6,
        }),
    ),
  );
  return [stores, async () => {
    for (const s of stores) await s.close();
  }];
}

Deno.test("postgres: stores opening one fresh schema at once migrate it once and all work", async () => {
  const first = await openTempPgStore();
  await first.store.close(); // drops the schema: the next opens find nothing
  const stores = await Promise.all(
    Array.from(
      { length: 4 },
      () => openPostgresStore({ url: first.url, schema: first.schema }),
    ),
  );
  try {
    for (const [i, s] of stores.entries()) {
      await s.intentInsert(publish({ payload: { i } }));
    }
    assert.equal((await stores[0].statsGet({ now: T0 })).states.open, 4);
  } finally {
    for (const s of stores) await s.close();
  }
});

Deno.test("postgres: claimers on three stores take each of 600 intents exactly once", async () => {
  const [stores, close] = await shared(3);
  try {
    const ids = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const p = publish({ payload: { i } });
      ids.add(p.id);
      await stores[i % 3].intentInsert(p);
    }
    const taken = new Map<string, number>();
    const claimer = async (k: number) => {
      const mine = stores[k % 3];
      const other = stores[(k + 1) % 3];
      for (;;) {
        const got = await mine.intentClaim(
          claim({ caller: `w${k}`, max: 1 + (k % 4) }),
        );
        if (got.length === 0) return;
        for (const c of got) {
          taken.set(c.id, (taken.get(c.id) ?? 0) + 1);
          // Fulfilled through another server than the one that leased it.
          await other.intentFulfil({
            id: c.id,
            token: c.claimToken,
            caller: `w${k}`,
            now: T0 + 1,
            result: { k },
            resultType: "json",
          });
        }
      }
    };
    await Promise.all(Array.from({ length: 24 }, (_, k) => claimer(k)));
    assert.equal(taken.size, 600);
    assert.deepEqual([...taken.values()].filter((n) => n !== 1), []);
    assert.deepEqual([...taken.keys()].filter((id) => !ids.has(id)), []);
    const stats = await stores[2].statsGet({ now: T0 + 1 });
    assert.deepEqual(stats.states, {
      open: 0,
      claimed: 0,
      fulfilled: 600,
      dead: 0,
    });
  } finally {
    await close();
  }
});

Deno.test("postgres: reapers on two stores at once move each expired lease once", async () => {
  const [[a, b], close] = await shared(2);
  try {
    for (let i = 0; i < 100; i++) {
      // Half on their last attempt (they die), half with attempts left (retried).
      await a.intentInsert(publish({ maxAttempts: i % 2 === 0 ? 1 : 3 }));
    }
    const got = await a.intentClaim(claim({ max: 100, leaseMs: 1_000 }));
    assert.equal(got.length, 100);
    const reaps = await Promise.all(
      [a, b, a, b].map((s) => s.leaseReap({ now: T0 + 2_000, jitter: 0 })),
    );
    assert.equal(reaps.reduce((n, r) => n + r.dead, 0), 50);
    assert.equal(reaps.reduce((n, r) => n + r.retried, 0), 50);
    const stats = await b.statsGet({ now: T0 + 2_000 });
    assert.equal(stats.states.dead, 50);
    assert.equal(stats.states.open, 50);
    assert.equal(stats.states.claimed, 0);
  } finally {
    await close();
  }
});

Deno.test("postgres: a database that goes away is a BusyError, never a crash", async () => {
  const cluster = startCluster({ fresh: true });
  let store: Storage | null = null;
  try {
    store = await openPostgresStore({ url: cluster.url, poolSize: 2 });
    await store.intentInsert(publish());
    cluster.stop();
    await assert.rejects(store.intentClaim(claim()), BusyError);
    await assert.rejects(store.intentInsert(publish()), BusyError);
  } finally {
    cluster.stop();
    await store?.close();
  }
  // Nothing listening at all: opening is refused the same way.
  await assert.rejects(
    openPostgresStore({ url: cluster.url, poolSize: 1 }),
    BusyError,
  );
});

Deno.test("postgres: a quota and an idempotency key hold across stores publishing at once", async () => {
  const [[a, b], close] = await shared(2);
  try {
    const capped = await Promise.allSettled(
      Array.from(
        { length: 30 },
        (_, i) => [a, b][i % 2].intentInsert(publish({ quota: 10 })),
      ),
    );
    assert.equal(capped.filter((r) => r.status === "fulfilled").length, 10);
    const same = await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) =>
          [a, b][i % 2].intentInsert(
            publish({
              publisher: "p2",
              idempotencyKey: "k",
              requestHash: "h",
            }),
          ),
      ),
    );
    assert.equal(new Set(same.map((r) => r.intent.id)).size, 1);
    assert.equal(same.filter((r) => !r.replayed).length, 1);
  } finally {
    await close();
  }
});

Deno.test("postgres: a store hears the goals other stores make claimable, never its own", async () => {
  const [[a, b], close] = await shared(2);
  try {
    const heard: string[] = [];
    let next: (() => void) | null = null;
    let ready = false;
    const stop = a.watchGoals!((namespace, goal) => {
      // Late "ready" notices may still come in below: only readiness.
      if (goal === "ready") return void (ready = true);
      heard.push(`${namespace}/${goal}`);
      next?.();
    });
    const hear = async (what: () => Promise<unknown>, expect: string[]) => {
      const got = new Promise<void>((r) => next = r);
      await what();
      await got;
      assert.deepEqual(heard.splice(0), expect);
    };
    // The listener connects in the background; a first notification tells
    // that it is listening.
    for (let i = 0; !ready && i < 200; i++) {
      await b.intentInsert(publish({ goal: "ready" }));
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(ready, "the listener never heard anything");
    // Its own publish first, then another store's: notifications come in
    // commit order, so hearing only the second shows the first was skipped.
    await a.intentInsert(publish({ goal: "own" }));
    await hear(() => b.intentInsert(publish({ goal: "published" })), [
      "ns/published",
    ]);
    // A delayed intent is not claimable yet: nothing is sent for it.
    await b.intentInsert(publish({ goal: "later", runAt: T0 + 60_000 }));
    await b.goalPause({ namespace: "ns", goal: "paused", now: T0 });
    await hear(() => b.goalResume({ namespace: "ns", goal: "paused" }), [
      "ns/paused",
    ]);
    const [c] = await b.intentClaim(claim({ goal: "published" }));
    await hear(
      () =>
        b.intentRelease({
          id: c.id,
          token: c.claimToken,
          caller: "worker",
          now: T0 + 1,
        }),
      ["ns/published"],
    );
    const dead = await b.intentCancel({ id: c.id, now: T0 + 2 });
    await hear(() => b.intentRetry({ id: dead.id, now: T0 + 3 }), [
      "ns/published",
    ]);
    stop();
  } finally {
    await close();
  }
});

Deno.test("postgres: after the database restarts, a store and its listener work again", async () => {
  // Durable: with synchronous_commit off, a crash loses the last commits.
  const cluster = startCluster({ fresh: true, durable: true });
  const stores: Storage[] = [];
  try {
    const open = () => openPostgresStore({ url: cluster.url, poolSize: 2 });
    const [a, b] = [await open(), await open()];
    stores.push(a, b);
    let heard = 0;
    a.watchGoals!(() => heard++);
    // Publishes on b until a's listener hears one, or 10 s pass.
    const untilHeard = async () => {
      const before = heard;
      for (let i = 0; heard === before && i < 400; i++) {
        await b.intentInsert(publish({ goal: `g${i}` }));
        await new Promise((r) => setTimeout(r, 25));
      }
      return heard > before;
    };
    assert.ok(await untilHeard(), "the listener never heard anything");
    await a.intentInsert(publish());
    cluster.restart(); // every connection dropped; committed rows kept
    // The pool's dropped connections fail at most the calls that find them;
    // then new ones serve. A bounded number of tries, not a timing.
    let stats = null;
    for (let i = 0; stats === null && i < 10; i++) {
      stats = await a.statsGet({ now: T0 }).catch(() => null);
    }
    assert.ok(stats !== null, "the store never worked again");
    assert.ok(stats.states.open >= 2);
    const [c] = await a.intentClaim(claim({ goal: "g" }));
    assert.ok(c !== undefined);
    // The listener reconnects by itself (after 1 s) and hears b again.
    assert.ok(await untilHeard(), "the listener did not come back");
  } finally {
    for (const s of stores) await s.close();
    cluster.stop();
  }
});

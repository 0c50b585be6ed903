import assert from "node:assert/strict";
import type { Storage } from "../storage/storage.ts";
import { Maintenance, type MaintenanceOptions } from "./maintenance.ts";
import { makeTestApp, type TestApp } from "./testing.ts";

/** Maintenance over the test app's real store, some of its methods wrapped. */
function over(
  t: TestApp,
  wrapped: Partial<Storage>,
  options: Partial<MaintenanceOptions>,
): Maintenance {
  const store = Object.assign(Object.create(t.store), wrapped);
  return new Maintenance({
    store,
    clock: t.clock,
    retentionMs: 1000,
    ...options,
  });
}

Deno.test("runOnce puts an expired lease back to open after backoff", async () => {
  await using t = await makeTestApp();
  const { id } = (await t.call("POST", "/intent", {
    body: { goal: "g", payload: 1, backoff_base: 2 },
  })).body;
  await t.call("POST", "/claim?goal=g");
  const m = new Maintenance({
    store: t.store,
    clock: t.clock,
    retentionMs: 1000,
    random: () => 0,
  });
  assert.equal((await m.runOnce()).reap.retried, 0);
  t.clock.advance(60_001);
  const run = await m.runOnce();
  assert.equal(run.reap.retried, 1);
  const s = (await t.call("GET", `/status/${id}`)).body;
  assert.equal(s.status, "open");
  // 2 × 2^1 s of backoff, no jitter.
  assert.equal(s.run_at, t.clock.now() / 1000 + 4);
});

Deno.test("the timers reap without any request, and stop() ends them", async () => {
  await using t = await makeTestApp();
  await t.call("POST", "/intent", {
    body: { goal: "g", payload: 1, max_attempts: 1 },
  });
  await t.call("POST", "/claim?goal=g");
  t.clock.advance(60_001);
  const m = new Maintenance({
    store: t.store,
    clock: t.clock,
    retentionMs: 1000,
    reapEveryMs: 5,
  });
  m.start();
  const deadline = Date.now() + 5000;
  while ((await t.store.statsGet({ now: t.clock.now() })).states.dead === 0) {
    assert.ok(Date.now() < deadline, "reaper did not run");
    await new Promise((r) => setTimeout(r, 5));
  }
  await m.stop();
});

Deno.test("a reap still running when the next tick comes is not queued behind: the tick skips", async () => {
  await using t = await makeTestApp();
  // The real store, whose reap waits until released, as a reap does on a
  // database that stopped answering.
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const m = over(t, {
    leaseReap: async (p) => {
      calls++;
      await gate;
      return t.store.leaseReap(p);
    },
  }, { reapEveryMs: 5 });
  m.start();
  await new Promise((r) => setTimeout(r, 200)); // some 40 ticks
  assert.equal(calls, 1);
  // Stopped as soon as the stuck reap ends: nothing was queued behind it.
  release();
  await m.stop();
  assert.ok(calls <= 2, `${calls} reaps ran: ticks were queued`);
});

Deno.test("a prune deletes what retention allows in chunks, as many as it takes", async () => {
  await using t = await makeTestApp();
  for (let i = 0; i < 7; i++) {
    await t.call("POST", "/intent", { body: { goal: "g", payload: i } });
    const c = (await t.call("POST", "/claim?goal=g")).body;
    await t.call("POST", `/fulfill/${c.id}`, {
      body: { claim_token: c.claim_token },
    });
  }
  t.clock.advance(2000);
  let calls = 0;
  const m = over(t, {
    maintenanceRun: (p) => {
      calls++;
      assert.equal(p.limit, 3);
      return t.store.maintenanceRun(p);
    },
  }, { pruneChunk: 3 });
  assert.equal((await m.prune()).intents, 7);
  assert.equal(calls, 3); // 3 + 3 + 1
  assert.equal((await t.counts()).intents, 0);
});

Deno.test("a reap of a backlog goes in chunks, each its own store call, until nothing is due", async () => {
  await using t = await makeTestApp();
  for (let i = 0; i < 7; i++) {
    await t.call("POST", "/intent", {
      body: { goal: "g", payload: i, max_attempts: 1 },
    });
    assert.equal((await t.call("POST", "/claim?goal=g&lease=10")).status, 200);
  }
  t.clock.advance(11_000);
  const limits: (number | undefined)[] = [];
  const m = over(t, {
    leaseReap: (p) => {
      limits.push(p.limit);
      return t.store.leaseReap(p);
    },
  }, { reapChunk: 3 });
  assert.deepEqual(await m.reap(), { retried: 0, dead: 7 });
  assert.deepEqual(limits, [3, 3, 3]); // 3 + 3 + 1
  assert.equal((await t.counts()).intents, 0);
});

Deno.test("without retentionMs a prune keeps finished intents 7 days, then deletes them", async () => {
  await using t = await makeTestApp();
  await t.call("POST", "/intent", { body: { goal: "g", payload: 1 } });
  const c = (await t.call("POST", "/claim?goal=g")).body;
  await t.call("POST", `/fulfill/${c.id}`, {
    body: { claim_token: c.claim_token },
  });
  const m = new Maintenance({ store: t.store, clock: t.clock });
  t.clock.advance(7 * 24 * 3600 * 1000 - 1000);
  assert.equal((await m.prune()).intents, 0);
  t.clock.advance(2000);
  assert.equal((await m.prune()).intents, 1);
  assert.equal((await t.counts()).intents, 0);
});

Deno.test("a retentionMs that is not a positive number is refused", async () => {
  await using t = await makeTestApp();
  for (const retentionMs of [0, -1, NaN, Infinity]) {
    assert.throws(
      () => new Maintenance({ store: t.store, clock: t.clock, retentionMs }),
      RangeError,
    );
  }
});

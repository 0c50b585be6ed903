// A database that stops answering without closing anything (a network
// partition, a frozen host; here every PostgreSQL process is stopped with
// SIGSTOP, so the kernel still acknowledges what is sent): a call fails with
// a BusyError within the store's timeout instead of hanging, and when the
// database answers again the store and its listener work again by
// themselves.

import assert from "node:assert/strict";
import { BusyError } from "../../core/errors.ts";
import type { Storage } from "../storage.ts";
import { claim, publish } from "../testing/_fixtures.ts";
import { runOnce, startCluster } from "./_cluster.ts";
import { openPostgresStore } from "./open.ts";

/** `p`, or a failure naming `what` if it is still pending after `ms`. */
function settlesWithin<T>(p: Promise<T>, ms: number, what: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The backend pids of the stores' listening connections. */
async function listeners(url: string): Promise<number[]> {
  const rows = await runOnce(
    url,
    "SELECT pid FROM pg_stat_activity WHERE application_name = 'intentbus-listen' ORDER BY pid",
  );
  return rows.map((row) => Number(row.pid));
}

/** Retries `fn` until it resolves, for up to `ms`. */
async function eventually<T>(fn: () => Promise<T>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

Deno.test("postgres: a database that stops answering is a BusyError within the timeout, and the store recovers when it answers again", async () => {
  const cluster = startCluster({ fresh: true });
  const stores: Storage[] = [];
  try {
    const open = () => openPostgresStore({ url: cluster.url, timeoutMs: 1000 });
    const a = await open();
    stores.push(a);
    const b = await open();
    stores.push(b);
    const heard: string[] = [];
    a.watchGoals!((_ns, goal) => heard.push(goal));
    await eventually(async () => {
      await b.intentInsert(publish({ goal: "before" }));
      if (!heard.includes("before")) throw new Error("not heard yet");
    }, 10_000);

    const before = await listeners(cluster.url);
    assert.equal(before.length, 1); // a's; b listens to nobody
    cluster.freeze(true);
    try {
      // Pool connections that were idle, a transaction's, and a claim: each
      // fails within the 1 s timeout (20 s here means it hung).
      await settlesWithin(
        assert.rejects(a.intentInsert(publish()), BusyError),
        20_000,
        "publish",
      );
      await settlesWithin(
        assert.rejects(
          a.intentInsert(publish({ idempotencyKey: "k" })),
          BusyError,
        ),
        20_000,
        "publish in a transaction",
      );
      await settlesWithin(
        assert.rejects(a.intentClaim(claim()), BusyError),
        20_000,
        "claim",
      );
      // Let the listener's heartbeat (every 1 s, 1 s to answer) find its
      // connection dead too, with room for a loaded machine.
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      cluster.freeze(false);
    }

    // The same stores work again, without being reopened.
    const id = (await eventually(
      () => a.intentInsert(publish({ goal: "after" })),
      20_000,
    )).intent.id;
    const [c] = await eventually(
      () => b.intentClaim(claim({ goal: "after" })),
      20_000,
    );
    assert.equal(c.id, id);
    // And a's listener, whose heartbeat timed out during the freeze, has
    // listened anew on a connection of its own, and hears b again.
    await eventually(async () => {
      const now = await listeners(cluster.url);
      assert.equal(now.length, 1);
      assert.notEqual(now[0], before[0]);
    }, 20_000);
    await eventually(async () => {
      await b.intentInsert(publish({ goal: "heard-after" }));
      if (!heard.includes("heard-after")) throw new Error("not heard yet");
    }, 20_000);
  } finally {
    cluster.freeze(false);
    for (const s of stores) await s.close();
    cluster.stop();
  }
});

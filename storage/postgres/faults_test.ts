// The store under PostgreSQL ending its connections while they are in use
// (pg_terminate_backend, as a restart or an administrator does): the
// process survives, calls fail with the retryable store error, batches
// fail whole rather than item by item, and the store serves again.

import assert from "node:assert/strict";
import { BusyError } from "../../core/errors.ts";
import type { Storage } from "../storage.ts";
import { claim, failOf, publish, T0 } from "../testing/_fixtures.ts";
import { createDatabase, runOnce } from "./_cluster.ts";
import { testCluster } from "./_temp.ts";
import { openPostgresStore } from "./open.ts";

/** Polls `ok` every 10 ms until it holds, for at most `ms`. */
async function until(ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error("Timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Ends every session on `db` but the caller's own; returns how many. */
async function terminateAll(url: string, db: string): Promise<number> {
  const [{ n }] = await runOnce(
    url,
    `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
     WHERE datname = '${db}' AND pid <> pg_backend_pid()`,
  );
  return Number(n);
}

/** Transactions of each kind, batches included, in a loop until `stop`. */
function load(store: Storage, k: number, stop: () => boolean) {
  const failures: unknown[] = [];
  let calls = 0;
  const done = (async () => {
    for (let i = 0; !stop(); i++) {
      const key = (j: number) => ({ idempotencyKey: `${k}-${i}-${j}` });
      try {
        if (i % 3 === 0) {
          await store.intentInsert(publish({ ...key(0), quota: 1_000_000 }));
        } else if (i % 3 === 1) {
          const results = await store.intentInsertMany({
            items: [0, 1, 2, 3, 4].map((j) => publish(key(j))),
            atomic: false,
          });
          // A batch fails whole on a lost connection, not item by item.
          for (const r of results) if (!r.ok) failures.push(r.error);
        } else {
          const got = await store.intentClaim(claim({ max: 3 }));
          const results = await store.intentAckMany({
            items: got.map((c) => ({
              kind: "fail" as const,
              ...failOf(c, { now: T0 + 1 }),
            })),
          });
          for (const r of results) if (!r.ok) failures.push(r.error);
        }
      } catch (err) {
        failures.push(err);
      }
      calls++;
    }
  })();
  return { failures, done, calls: () => calls };
}

Deno.test("postgres: sessions ended under concurrent transactions fail calls with BusyError, never the process, and the store serves again", async () => {
  const cluster = testCluster();
  const db = await createDatabase(cluster.url);
  const name = new URL(db.url).pathname.slice(1);
  const store = await openPostgresStore({ url: db.url, poolSize: 4 });
  try {
    let stop = false;
    const loads = Array.from(
      { length: 8 },
      (_, k) => load(store, k, () => stop),
    );
    const calls = () => loads.reduce((n, l) => n + l.calls(), 0);
    let ended = 0;
    for (let round = 0; round < 15; round++) {
      const before = calls();
      await until(() => calls() >= before + 8); // the load runs again
      ended += await terminateAll(cluster.url, name);
    }
    stop = true;
    await Promise.all(loads.map((l) => l.done));
    assert.ok(ended >= 15, `only ${ended} sessions ended`);
    const failures = loads.flatMap((l) => l.failures);
    const other = failures.filter((e) => !(e instanceof BusyError));
    assert.deepEqual(other.map(String), []);
    assert.ok(failures.length > 0, "no call noticed a session ending");
    // The pool's dead connections fail at most the calls that find them.
    let served = false;
    for (let i = 0; !served && i < 10; i++) {
      served = await store.intentInsert(publish()).then(
        () => true,
        () => false,
      );
    }
    assert.ok(served, "the store never served again");
    await store.intentInsertMany({
      items: [publish({ idempotencyKey: "after" })],
      atomic: false,
    });
  } finally {
    await store.close();
    await db.drop();
  }
});

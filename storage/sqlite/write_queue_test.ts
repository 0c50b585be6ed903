import assert from "node:assert/strict";
import { type Connection, SqliteError } from "./connection.ts";
import { openNodeSqlite } from "./drivers/node_sqlite.ts";
import { WriteQueue } from "./write_queue.ts";

async function withDb(
  fn: (db: Connection, path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "intentbus-store-" });
  const path = `${dir}/q.db`;
  const db = openNodeSqlite({ path });
  try {
    db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER UNIQUE)");
    await fn(db, path);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const identity = (err: unknown) => err;

Deno.test("writes queued in one turn share one transaction", async () => {
  await withDb(async (db, path) => {
    const other = openNodeSqlite({ path });
    try {
      const queue = new WriteQueue(db, identity);
      const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
      const count = other.prepare("SELECT count(*) AS n FROM t");
      // Another connection sees only committed rows: none until the batch ends.
      const seen: number[] = [];
      const results = await Promise.all([1, 2, 3].map((x) =>
        queue.run(() => {
          insert.run(x);
          seen.push(Number(count.get()?.n));
          return x;
        })
      ));
      assert.deepEqual(results, [1, 2, 3]);
      assert.deepEqual(seen, [0, 0, 0]);
      assert.equal(count.get()?.n, 3);
      // Writes in separate turns commit separately.
      await queue.run(() => insert.run(4));
      await queue.run(() => {
        seen.push(Number(count.get()?.n));
      });
      assert.equal(seen[3], 4);
    } finally {
      other.close();
    }
  });
});

Deno.test("a failing write is undone alone; the others in its batch commit", async () => {
  await withDb(async (db) => {
    const queue = new WriteQueue(db, identity);
    const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
    const outcomes = await Promise.allSettled([
      queue.run(() => insert.run(1)),
      queue.run(() => {
        insert.run(2);
        insert.run(1); // UNIQUE fails after 2 went in: 2 must be undone too.
      }),
      queue.run(() => insert.run(3)),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), [
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    const failed = outcomes[1] as PromiseRejectedResult;
    assert.ok(failed.reason instanceof SqliteError);
    assert.equal(failed.reason.code, 19);
    const rows = db.prepare("SELECT x FROM t ORDER BY x").all();
    assert.deepEqual(rows.map((r) => r.x), [1, 3]);
  });
});

Deno.test("a lone failing write rolls its transaction back", async () => {
  await withDb(async (db) => {
    const queue = new WriteQueue(db, identity);
    await assert.rejects(
      queue.run(() => {
        db.prepare("INSERT INTO t (x) VALUES (1)").run();
        throw new RangeError("changed my mind");
      }),
      RangeError,
    );
    assert.equal(db.prepare("SELECT count(*) AS n FROM t").get()?.n, 0);
    await queue.run(() => db.prepare("INSERT INTO t (x) VALUES (1)").run());
    assert.equal(db.prepare("SELECT count(*) AS n FROM t").get()?.n, 1);
  });
});

Deno.test("when the write lock is held elsewhere, the whole batch is refused", async () => {
  await withDb(async (db, path) => {
    db.exec("PRAGMA busy_timeout = 10");
    const other = openNodeSqlite({ path });
    try {
      other.exec("BEGIN IMMEDIATE");
      const queue = new WriteQueue(db, identity);
      const jobs = [1, 2].map((x) =>
        queue.run(() => db.prepare("INSERT INTO t (x) VALUES (?)").run(x))
      );
      for (const job of jobs) {
        await assert.rejects(
          job,
          (e) => e instanceof SqliteError && e.code === 5,
        );
      }
      other.exec("ROLLBACK");
      await queue.run(() => db.prepare("INSERT INTO t (x) VALUES (1)").run());
    } finally {
      other.close();
    }
  });
});

/**
 * A queue over `db` waiting up to `busyWaitMs` for the write lock, which
 * another connection (`release()` ends its transaction) holds as `fn` runs.
 */
async function withLockHeld(
  busyWaitMs: number,
  fn: (t: {
    db: Connection;
    queue: WriteQueue;
    insert: (x: number) => Promise<unknown>;
    release: () => void;
  }) => Promise<void>,
): Promise<void> {
  await withDb(async (db, path) => {
    db.exec("PRAGMA busy_timeout = 0");
    const other = openNodeSqlite({ path });
    try {
      other.exec("BEGIN IMMEDIATE");
      const queue = new WriteQueue(db, identity, { busyWaitMs });
      const stmt = db.prepare("INSERT INTO t (x) VALUES (?)");
      await fn({
        db,
        queue,
        insert: (x) => queue.run(() => stmt.run(x)),
        release: () => other.exec("ROLLBACK"),
      });
    } finally {
      other.close();
    }
  });
}

Deno.test("with busyWaitMs, writes wait for a lock held elsewhere on timers, and those queued meanwhile join them", async () => {
  await withLockHeld(10_000, async ({ db, insert, release }) => {
    const first = insert(1);
    await new Promise((r) => setTimeout(r, 30));
    const second = insert(2);
    // Released from a timer on this same thread: a wait inside SQLite
    // would never see it.
    setTimeout(release, 50);
    await Promise.all([first, second]);
    assert.equal(db.prepare("SELECT count(*) AS n FROM t").get()?.n, 2);
  });
});

Deno.test("with busyWaitMs, a write that waited that long is refused as busy; a later one still waits", async () => {
  await withLockHeld(600, async ({ db, insert, release }) => {
    const early = insert(1);
    await new Promise((r) => setTimeout(r, 300));
    const late = insert(2);
    await assert.rejects(
      early,
      (e) => e instanceof SqliteError && e.code === 5,
    );
    release();
    await late;
    assert.deepEqual(db.prepare("SELECT x FROM t").all().map((r) => r.x), [2]);
  });
});

Deno.test("a write waiting for the lock runs after a pause that began meanwhile ends (it waited for ever)", async () => {
  await withLockHeld(10_000, async ({ db, queue, insert, release }) => {
    const first = insert(1);
    await new Promise((r) => setTimeout(r, 5));
    // The checkpoint thread pauses writes; a try for the lock comes due.
    queue.pause();
    await new Promise((r) => setTimeout(r, 60));
    release();
    queue.resume();
    await first;
    await insert(2);
    assert.equal(db.prepare("SELECT count(*) AS n FROM t").get()?.n, 2);
  });
});

Deno.test("a closed queue refuses writes after flushing what it had", async () => {
  await withDb(async (db) => {
    const queue = new WriteQueue(db, identity);
    const pending = queue.run(() =>
      db.prepare("INSERT INTO t VALUES (7)").run()
    );
    queue.close();
    assert.equal(await pending, 1);
    await assert.rejects(queue.run(() => 0), /closed/);
  });
});

Deno.test("a failing one-statement write is undone alone, without a savepoint of its own", async () => {
  await withDb(async (db) => {
    const queue = new WriteQueue(db, identity);
    const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
    const outcomes = await Promise.allSettled([
      queue.run(() => insert.run(1), true),
      queue.run(() => insert.run(1), true),
      queue.run(() => {
        insert.run(2);
        insert.run(3);
      }),
      queue.run(() => insert.run(4), true),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), [
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    const rows = db.prepare("SELECT x FROM t ORDER BY x").all();
    assert.deepEqual(rows.map((r) => r.x), [1, 2, 3, 4]);
  });
});

import assert from "node:assert/strict";
import { Checkpointer, type WriteGate } from "./checkpointer.ts";
import { openNodeSqlite } from "./drivers/node_sqlite.ts";
import { openSqliteStore } from "./open.ts";
import { fillKv } from "../testing/_fixtures.ts";
import { WriteQueue } from "./write_queue.ts";

async function withFile(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "intentbus-ckpt-" });
  try {
    await fn(`${dir}/c.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function walFrames(path: string): number {
  const probe = openNodeSqlite({ path });
  try {
    // A passive checkpoint that copies nothing new still reports the log.
    return Number(probe.prepare("PRAGMA wal_checkpoint(PASSIVE)").get()!.log);
  } finally {
    probe.close();
  }
}

/** A raw WAL database with a checkpointer on its write queue, as the store sets one up. */
async function rig(
  path: string,
  options: { restartFrames: number; intervalMs: number; maxPauseMs?: number },
) {
  const db = openNodeSqlite({ path });
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
    PRAGMA wal_autocheckpoint = 0; PRAGMA busy_timeout = 5000;
    CREATE TABLE t (x INTEGER PRIMARY KEY, pad TEXT)`);
  const cp = await Checkpointer.start({
    path,
    driver: "node:sqlite",
    synchronous: "NORMAL",
    ...options,
  });
  db.exec(`PRAGMA journal_size_limit = ${cp.journalSizeLimit}`);
  const queue = new WriteQueue(db, (e) => e);
  /** Pauses, resumes and commits, in order. */
  const events: string[] = [];
  const gate: WriteGate = {
    pause: () => {
      events.push("pause");
      queue.pause();
    },
    resume: () => {
      events.push("resume");
      queue.resume();
    },
  };
  queue.onCommit = () => cp.committed();
  cp.attach(gate, (err) => assert.fail(err));
  const insert = db.prepare("INSERT INTO t (x, pad) VALUES (?, ?)");
  let rows = 0;
  /** Commits `n` rows of about a page each, in one transaction. */
  const write = (n = 1, label = "") =>
    queue.run(() => {
      for (let i = 0; i < n; i++) insert.run(rows++, "x".repeat(3000));
      if (label) events.push(label);
    });
  const count = () =>
    Number(db.prepare("SELECT count(*) AS n FROM t").get()!.n);
  return { db, cp, events, write, count, rows: () => rows };
}

Deno.test("the checkpoint thread copies the WAL and rewinds it once it is full, pausing only writes", async () => {
  await withFile(async (path) => {
    const { db, cp, events, write, count, rows } = await rig(path, {
      restartFrames: 50,
      intervalMs: 0,
    });
    try {
      // Commits of one page-sized row each, far past 50 frames, until the
      // thread has rewound the WAL: how many that takes depends on how
      // fast the disk is (CI runs test files in parallel), not the count.
      const deadline = Date.now() + 30_000;
      while (
        (rows() < 100 || cp.stats.restarts === 0) && Date.now() < deadline
      ) {
        await write();
      }
      // The first commit after a restart writes the WAL from its start.
      await write();
    } finally {
      await cp.close();
    }
    const stats = cp.stats;
    assert.ok(stats.passes > 0);
    assert.ok(stats.restarts > 0, JSON.stringify(stats));
    assert.equal(events.length % 2, 0, "every pause was resumed");
    assert.equal(events[0], "pause");
    // Rewound: the WAL now holds far fewer frames than were ever written.
    assert.ok(
      walFrames(path) < 400,
      `WAL has ${walFrames(path)} frames after ${rows()} commits; ${
        JSON.stringify(stats)
      }`,
    );
    assert.equal(count(), rows());
    db.close();
  });
});

for (
  const [frames, stalls] of [
    [70, 0], // past restartFrames: the next pass starts at once
    [160, 1], // past twice that: writes wait for it too
  ] as const
) {
  Deno.test(
    `a commit that takes the WAL to ${frames} of 50 frames ${
      stalls ? "holds writes until the WAL rewinds" : "starts a pass at once"
    }, without waiting for the pass interval`,
    async () => {
      await withFile(async (path) => {
        const { db, cp, events, write, count, rows } = await rig(path, {
          restartFrames: 50,
          // Without the WAL's size, the next pass would be a minute away.
          intervalMs: 60_000,
        });
        try {
          await write(); // the first pass, then the minute's wait
          await new Promise((r) => setTimeout(r, 20));
          await write(frames);
          const next = write(1, "next");
          const deadline = Date.now() + 10_000;
          while (cp.stats.restarts === 0 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 5));
          }
          await next;
          await write(); // rewinds the WAL, and cuts its file back
          const stats = cp.stats;
          assert.equal(stats.restarts, 1, JSON.stringify(stats));
          assert.equal(stats.stalls, stalls);
          assert.ok(stats.peakWalFrames >= frames, JSON.stringify(stats));
          // Held from the commit that crossed twice 50 frames, the next write
          // ran only once the WAL could rewind. Below that, writes paused
          // only for the rewind's pass, whichever came first.
          if (stalls) assert.deepEqual(events, ["pause", "resume", "next"]);
          else assert.deepEqual(events.toSorted(), ["next", "pause", "resume"]);
          assert.ok(walFrames(path) < 10, `WAL has ${walFrames(path)} frames`);
          assert.equal(
            Deno.statSync(`${path}-wal`).size,
            cp.journalSizeLimit,
          );
        } finally {
          await cp.close();
        }
        assert.equal(count(), rows());
        db.close();
      });
    },
  );
}

Deno.test("pauses that give up on a slow thread still leave the WAL bounded: writes wait at twice restartFrames", async () => {
  await withFile(async (path) => {
    const { db, cp, write, count, rows } = await rig(path, {
      restartFrames: 50,
      intervalMs: 0,
      // Every pause at 50 frames gives up without waiting for its pass.
      maxPauseMs: 0,
    });
    try {
      for (let i = 0; i < 300; i++) await write(5);
    } finally {
      await cp.close();
    }
    const stats = cp.stats;
    // 2,100 frames written; without the wait at 100 frames, nothing would
    // rewind the WAL once every pause gave up. It peaks above 100 by what
    // commits in the 2 ms between two looks at its size, and by a pass.
    assert.ok(stats.missed > 0, JSON.stringify(stats));
    assert.ok(stats.stalls > 0 && stats.restarts > 0, JSON.stringify(stats));
    assert.ok(stats.peakWalFrames < 500, JSON.stringify(stats));
    assert.equal(count(), rows());
    db.close();
  });
});

Deno.test("a reader that pins an old snapshot neither stops writes nor pauses them at every commit", async () => {
  await withFile(async (path) => {
    const { db, cp, events, write, count, rows } = await rig(path, {
      restartFrames: 50,
      intervalMs: 0,
    });
    await write();
    // Another process's read transaction (a backup, `sqlite3` in a shell):
    // the WAL cannot rewind past what it reads.
    const reader = openNodeSqlite({ path });
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) AS n FROM t").get();
    try {
      for (let i = 0; i < 100; i++) await write(5);
      const pinned = cp.stats;
      assert.equal(pinned.restarts, 0, JSON.stringify(pinned));
      assert.ok(pinned.missed > 0, JSON.stringify(pinned));
      // One pause per 50 frames at most (each finds the WAL pinned and
      // waits for 50 more), not one at each of the 100 commits.
      const frames = walFrames(path);
      assert.ok(frames >= 500, `WAL has ${frames} frames`);
      const pauses = events.filter((e) => e === "pause").length;
      assert.ok(pauses > 0 && pauses <= frames / 50, `${pauses} pauses`);
      reader.exec("COMMIT");
      const deadline = Date.now() + 10_000;
      while (cp.stats.restarts === 0 && Date.now() < deadline) await write();
      await write();
      assert.ok(cp.stats.restarts > 0, JSON.stringify(cp.stats));
      assert.ok(walFrames(path) < 50, `WAL has ${walFrames(path)} frames`);
    } finally {
      reader.close();
      await cp.close();
    }
    assert.equal(count(), rows());
    db.close();
  });
});

Deno.test("writes queued while paused commit together on resume", async () => {
  await withFile(async (path) => {
    const db = openNodeSqlite({ path });
    db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER)");
    const queue = new WriteQueue(db, (e) => e);
    let commits = 0;
    queue.onCommit = () => commits++;
    const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
    queue.pause();
    const done = [1, 2, 3].map((x) => queue.run(() => insert.run(x)));
    // Nothing runs while paused, however many turns pass.
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(Number(db.prepare("SELECT count(*) AS n FROM t").get()!.n), 0);
    queue.resume();
    assert.deepEqual(await Promise.all(done), [1, 1, 1]);
    assert.equal(commits, 1);
    db.close();
  });
});

Deno.test("a checkpointer that cannot open its file fails to start", async () => {
  await assert.rejects(
    Checkpointer.start({
      path: "/nonexistent-dir/x/c.db",
      driver: "node:sqlite",
      synchronous: "NORMAL",
    }),
  );
});

Deno.test("a store with the checkpoint thread keeps every write and leaves no WAL after close", async () => {
  await withFile(async (path) => {
    const now = Date.now();
    let store = await openSqliteStore({ path, checkpoint: "thread" });
    const n = 3000;
    await fillKv(store, n, now);
    await store.close();
    // Closing waits for the pass the commits started.
    assert.ok(store.checkpoints!.passes > 0);
    // The store's connection closed last: SQLite checkpointed and removed it.
    await assert.rejects(Deno.stat(`${path}-wal`), Deno.errors.NotFound);
    store = await openSqliteStore({ path, checkpoint: "inline" });
    try {
      assert.equal(store.checkpoints, undefined);
      const got = await store.kvGet({ owner: "o", key: `k${n - 1}`, now });
      assert.deepEqual(got, { value: "v".repeat(500) });
      const rows = store.db.prepare("SELECT count(*) AS n FROM kv").get()!;
      assert.equal(Number(rows.n), n);
    } finally {
      await store.close();
    }
  });
});

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

Deno.test("the checkpoint thread copies the WAL and rewinds it once it is full, pausing only writes", async () => {
  await withFile(async (path) => {
    const db = openNodeSqlite({ path });
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
      PRAGMA wal_autocheckpoint = 0; PRAGMA busy_timeout = 5000;
      CREATE TABLE t (x INTEGER PRIMARY KEY, pad TEXT)`);
    const cp = await Checkpointer.start({
      path,
      driver: "node:sqlite",
      synchronous: "NORMAL",
      restartFrames: 50,
      intervalMs: 0,
    });
    const queue = new WriteQueue(db, (e) => e);
    const pauses: string[] = [];
    const gate: WriteGate = {
      pause: () => {
        pauses.push("pause");
        queue.pause();
      },
      resume: () => {
        pauses.push("resume");
        queue.resume();
      },
    };
    queue.onCommit = () => cp.committed();
    cp.attach(gate, (err) => assert.fail(err));
    const insert = db.prepare("INSERT INTO t (x, pad) VALUES (?, ?)");
    let rows = 0;
    const write = () => queue.run(() => insert.run(rows++, "x".repeat(3000)));
    try {
      // Commits of one page-sized row each, far past 50 frames, until the
      // thread has rewound the WAL: how many that takes depends on how
      // fast the disk is (CI runs test files in parallel), not the count.
      const deadline = Date.now() + 30_000;
      while (
        (rows < 100 || cp.stats.restarts === 0) && Date.now() < deadline
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
    assert.equal(pauses.length % 2, 0, "every pause was resumed");
    assert.equal(pauses[0], "pause");
    // Rewound: the WAL now holds far fewer frames than were ever written.
    assert.ok(
      walFrames(path) < 400,
      `WAL has ${walFrames(path)} frames after ${rows} commits; ${
        JSON.stringify(stats)
      }`,
    );
    assert.equal(
      Number(db.prepare("SELECT count(*) AS n FROM t").get()!.n),
      rows,
    );
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

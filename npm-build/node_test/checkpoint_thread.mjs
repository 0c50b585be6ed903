// Under Node, from the installed @intentbus/server package: the WAL
// checkpoint thread (`checkpoint: "thread"`, the server's default) runs as a
// node:worker_threads worker with the driver this install picks
// (better-sqlite3, or node:sqlite without it), keeps every write, and leaves
// no WAL behind once the store closes; and it keeps the WAL bounded there too.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const { defaultDriver, openSqliteStore } = await import(
  import.meta.resolve("@intentbus/server/storage")
);
// The repository's test helpers, laid over the installed package.
const root = new URL("./", import.meta.resolve("@intentbus/server"));
const { fillKv } = await import(new URL("storage/testing/mod.js", root).href);

const driver = defaultDriver();

test(`the checkpoint thread runs under Node with ${driver} and keeps every write`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "intentbus_ckpt_"));
  const path = join(dir, "bus.db");
  try {
    const now = Date.now();
    const store = await openSqliteStore({
      path,
      driver,
      checkpoint: "thread",
    });
    assert.equal(
      Number(
        store.db.prepare("PRAGMA wal_autocheckpoint").get()
          .wal_autocheckpoint,
      ),
      0,
      "SQLite's own checkpoint is off",
    );
    const n = 3000;
    await fillKv(store, n, now);
    await store.close();
    assert.ok(store.checkpoints.passes > 0, JSON.stringify(store.checkpoints));
    assert.equal(existsSync(`${path}-wal`), false, "the WAL is gone");
    const again = await openSqliteStore({ path, driver });
    try {
      const got = await again.kvGet({ owner: "o", key: `k${n - 1}`, now });
      assert.deepEqual(got, { value: "v".repeat(500) });
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`under Node with ${driver}, the checkpoint thread keeps the WAL bounded under steady writes`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "intentbus_ckpt_"));
  const path = join(dir, "bus.db");
  try {
    const store = await openSqliteStore({ path, driver, checkpoint: "thread" });
    const now = Date.now();
    let maxWal = 0;
    try {
      // 40,000 values of 1 KB, 100 per commit: about 50 MB through the WAL.
      for (let round = 0; round < 400; round++) {
        await Promise.all(Array.from({ length: 100 }, (_, j) =>
          store.kvSet({
            owner: "o",
            key: `k${round * 100 + j}`,
            value: "v".repeat(1000),
            expiresAt: now + 600_000,
            now,
          })));
        maxWal = Math.max(maxWal, statSync(`${path}-wal`).size);
      }
      const stats = store.checkpoints;
      assert.ok(stats.restarts > 0, JSON.stringify(stats));
      // Writes wait for the thread at 8,000 frames (32 MB) at the latest.
      const limit = 36 * 1024 * 1024;
      assert.ok(maxWal < limit, `WAL file reached ${maxWal} bytes`);
      assert.ok(
        stats.peakWalFrames * (4096 + 24) < limit,
        JSON.stringify(stats),
      );
      const rows = store.db.prepare("SELECT count(*) AS n FROM kv").get();
      assert.equal(Number(rows.n), 40_000);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import assert from "node:assert/strict";
import { openNodeSqlite } from "./drivers/node_sqlite.ts";
import { openSqliteStore } from "./open.ts";
import { DRIVERS } from "./drivers/mod.ts";
import { publish } from "../testing/_fixtures.ts";

Deno.test("a store opens at once while another process holds the write lock, and writes once it is let go", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/locked.db`;
  try {
    await (await openSqliteStore({ path })).close();
    const other = openNodeSqlite({ path });
    other.exec("BEGIN IMMEDIATE");
    let store;
    try {
      // The write probe finds the lock taken: not a refusal.
      store = await openSqliteStore({ path, busyTimeoutMs: 60_000 });
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    const kv = { owner: "o", key: "k", now: 1 };
    await store.kvSet({ ...kv, value: 1, expiresAt: 10 });
    assert.deepEqual(await store.kvGet(kv), { value: 1 });
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const driver of Object.keys(DRIVERS)) {
  Deno.test(`${driver}: opening refreshes statistics a hand-filled file left stale, so a rowid slice is a seek`, async () => {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/grown.db`;
    try {
      // Closed with one row: its statistics say the table is tiny.
      const first = await openSqliteStore({ path, driver });
      await first.intentInsert(publish());
      await first.close();
      const raw = openNodeSqlite({ path });
      raw.exec("ANALYZE"); // as PRAGMA optimize may leave it: one row
      raw.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
           WHERE i < 50000)
         INSERT INTO intents SELECT printf('%032x', i + 1), namespace, goal,
           payload, state, priority, visibility, target_worker,
           required_capability, publisher, claim_attempts, max_attempts,
           backoff_base, run_at, expires_at, created_at, updated_at,
           claimed_by, worker_id, claim_token, lease_epoch, lease_expires_at,
           last_error, result, result_type, completed_at
         FROM intents, n`,
      );
      const plan = () =>
        raw.prepare(
          `EXPLAIN QUERY PLAN SELECT rowid FROM intents
           WHERE rowid > ?1 AND rowid <= ?2 AND namespace = ?3`,
        ).all(0, 2000, "x").map((r) => String(r.detail)).join(" ");
      assert.doesNotMatch(plan(), /SEARCH/, "stale statistics: a scan");
      raw.close();
      const store = await openSqliteStore({ path, driver });
      await store.close();
      const after = openNodeSqlite({ path });
      try {
        const stat = after.prepare(
          `SELECT stat FROM sqlite_stat1
           WHERE idx = 'sqlite_autoindex_intents_1'`,
        ).get();
        // A sampled estimate (analysis_limit): near 50,001, not 1.
        assert.ok(
          Number(String(stat?.stat).split(" ")[0]) > 10_000,
          String(stat?.stat),
        );
        assert.match(
          after.prepare(
            `EXPLAIN QUERY PLAN SELECT rowid FROM intents
             WHERE rowid > ?1 AND rowid <= ?2 AND namespace = ?3`,
          ).all(0, 2000, "x").map((r) => String(r.detail)).join(" "),
          /SEARCH intents USING INTEGER PRIMARY KEY/,
        );
      } finally {
        after.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

import assert from "node:assert/strict";
import { openNodeSqlite } from "./drivers/node_sqlite.ts";
import { openSqliteStore } from "./open.ts";

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

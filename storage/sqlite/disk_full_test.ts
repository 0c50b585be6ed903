// A real full disk under SQLite (a 2 MiB tmpfs): a publish that cannot be
// written is a StorageFullError and leaves nothing behind, every publish
// acknowledged before stays, the checkpoint thread's failed passes are
// counted and tried again, and once there is room the store and its thread
// work on with no restart. Before, the first failed pass ended the thread
// for good and its figures in /metrics froze.

import assert from "node:assert/strict";
import { StorageFullError } from "../../core/errors.ts";
import {
  bulkyText,
  claim,
  publish,
  publishUntilFull,
} from "../testing/_fixtures.ts";
import { SMALL_DISK_IGNORED, withSmallDisk } from "../testing/_small_disk.ts";
import { DRIVERS } from "./drivers/mod.ts";
import { openSqliteStore } from "./open.ts";

/** Waits for `ok()`, checking every 50 ms, failing with `what` after 10 s. */
async function until(ok: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 10_000; !ok();) {
    if (Date.now() > end) assert.fail(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const driver of Object.keys(DRIVERS)) {
  Deno.test({
    name:
      `sqlite:${driver}: a full disk is a StorageFullError that writes nothing, and the store and its checkpoint thread work on once there is room`,
    ignore: SMALL_DISK_IGNORED,
    fn: () =>
      withSmallDisk(2, async (disk) => {
        const store = await openSqliteStore({
          path: `${disk.dir}/bus.db`,
          driver,
          checkpoint: "thread",
        });
        try {
          const { acknowledged, error: full } = await publishUntilFull(store);
          assert.ok(full instanceof StorageFullError, `got ${full}`);
          assert.equal(full.code, "storage_full");
          assert.ok(acknowledged.length > 10, `${acknowledged.length} fitted`);

          // The thread's passes fail too (the database file cannot grow);
          // they are counted, and shown in /metrics.
          await until(() => store.checkpoints!.errors > 0, "a failed pass");
          assert.match(store.checkpoints!.lastError!, /full/);
          const errors = store.metricsGet().find((m) =>
            m.name === "sqlite_checkpoint_errors_total"
          );
          assert.ok(errors!.value > 0);

          // Room again (an operator frees space): no restart needed.
          disk.resize(64);
          const passes = store.checkpoints!.passes;
          const more = Array.from(
            { length: 200 },
            () => publish({ payload: { text: bulkyText() } }),
          );
          for (const p of more) await store.intentInsert(p);
          // The thread lives: it copies the WAL again.
          await until(
            () => store.checkpoints!.passes > passes,
            "a pass after the disk had room",
          );
          const failed = store.checkpoints!.errors;

          // Every acknowledged publish is there, each exactly once.
          const claimed = await store.intentClaim(claim({ max: 1000 }));
          assert.deepEqual(
            claimed.map((c) => c.id).sort(),
            [...acknowledged, ...more.map((p) => p.id)].sort(),
          );
          await until(
            () => store.checkpoints!.passes > passes + 1,
            "a second pass",
          );
          assert.equal(store.checkpoints!.errors, failed, "no pass failed");
        } finally {
          await store.close();
        }
      }),
  });
}

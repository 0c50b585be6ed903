// Under Node, from the installed @intentbus/server package, with the driver
// this install picks: on a real full disk (a 2 MiB tmpfs; mounting needs
// root on Linux, as CI runs) a publish is a storage_full error that writes
// nothing, the checkpoint thread counts its failed passes and tries again,
// and once there is room the store works on with no restart.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";

const { defaultDriver, openSqliteStore } = await import(
  import.meta.resolve("@intentbus/server/storage")
);
// The repository's test helpers, laid over the installed package.
const root = new URL("./", import.meta.resolve("@intentbus/server"));
const { claim, publishUntilFull } = await import(
  new URL("storage/testing/mod.js", root).href
);

const driver = defaultDriver();
const canMount = process.platform === "linux" && process.getuid?.() === 0;

async function until(ok, what) {
  for (const end = Date.now() + 10_000; !ok();) {
    if (Date.now() > end) assert.fail(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(
  `under Node with ${driver}, a full disk writes nothing and the store works on once there is room`,
  { skip: canMount ? false : "mounting a tmpfs needs root on Linux" },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "intentbus_full_"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir]);
    try {
      const store = await openSqliteStore({
        path: join(dir, "bus.db"),
        driver,
        checkpoint: "thread",
      });
      try {
        const { acknowledged, error } = await publishUntilFull(store);
        assert.equal(error?.code, "storage_full", String(error));
        assert.ok(acknowledged.length > 10, `${acknowledged.length} fitted`);
        await until(() => store.checkpoints.errors > 0, "a failed pass");

        execFileSync("mount", ["-o", "remount,size=64m", dir]);
        const passes = store.checkpoints.passes;
        const more = await publishUntilFull(store);
        assert.equal(more.error, null);
        await until(() => store.checkpoints.passes > passes, "a pass after");
        const claimed = await store.intentClaim(claim({ max: 5000 }));
        assert.deepEqual(
          claimed.map((c) => c.id).sort(),
          [...acknowledged, ...more.acknowledged].sort(),
        );
      } finally {
        await store.close();
      }
    } finally {
      execFileSync("umount", ["-l", dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

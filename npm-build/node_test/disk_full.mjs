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

const driver = defaultDriver();
const canMount = process.platform === "linux" && process.getuid?.() === 0;

/** 7 KiB of hex from random bytes: compression halves it, no more. */
function bulky() {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(3584)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

function intent(now) {
  return {
    id: now.toString(16).padStart(12, "0") +
      crypto.randomUUID().replaceAll("-", "").slice(0, 20),
    namespace: "ns",
    goal: "g",
    payload: { text: bulky() },
    priority: 100,
    visibility: "public",
    targetWorker: null,
    requiredCapability: null,
    maxAttempts: 3,
    backoffBase: 5,
    publisher: "pub",
    quota: null,
    idempotencyKey: null,
    requestHash: null,
    runAt: now,
    expiresAt: now + 86_400_000,
    now,
  };
}

async function until(ok, what) {
  for (const end = Date.now() + 10_000; !ok();) {
    if (Date.now() > end) assert.fail(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(
  `under Node with ${driver}, a full disk writes nothing and the store works on once there is room`,
  {
    skip: canMount ? false : "mounting a tmpfs needs root on Linux",
  },
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
        const now = Date.now();
        const acknowledged = [];
        let full = null;
        for (let i = 0; i < 2000 && full === null; i++) {
          const p = intent(now + i);
          try {
            await store.intentInsert(p);
            acknowledged.push(p.id);
          } catch (err) {
            full = err;
            assert.equal(await store.intentGet({ id: p.id }), null);
          }
        }
        assert.equal(full?.code, "storage_full", String(full));
        assert.ok(acknowledged.length > 10, `${acknowledged.length} fitted`);
        await until(() => store.checkpoints.errors > 0, "a failed pass");

        execFileSync("mount", ["-o", "remount,size=64m", dir]);
        const passes = store.checkpoints.passes;
        const later = intent(now + 5000);
        await store.intentInsert(later);
        await until(() => store.checkpoints.passes > passes, "a pass after");
        const claimed = await store.intentClaim({
          namespace: "ns",
          goal: "g",
          caller: "w",
          master: false,
          publisher: null,
          workerId: null,
          capabilities: [],
          leaseMs: 60_000,
          max: 1000,
          now: now + 6000,
        });
        assert.deepEqual(
          claimed.map((c) => c.id).sort(),
          [...acknowledged, later.id].sort(),
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

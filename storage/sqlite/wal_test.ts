import assert from "node:assert/strict";
import type { IntentInsertParams } from "../storage.ts";
import { openTempStore } from "./_temp.ts";
import { publish, T0 } from "../testing/_fixtures.ts";
import { DRIVERS } from "./drivers/mod.ts";

const LIFECYCLES = 20_000;
// Inline, SQLite checkpoints at 1,000 frames (4 MB). The thread rewinds from
// 4,000 frames (16 MB), and writes wait for it at 8,000 (32 MB) should its
// passes fall behind: 17–24 MB here, where every commit carries one claim or
// one fulfil as fast as the loop goes, and about 20 MB beside a disk busy
// with fsyncs, where it reached 91 MB before the store watched the WAL's size.
const WAL_LIMIT = { inline: 16 * 1024 * 1024, thread: 36 * 1024 * 1024 };

function intent(i: number): IntentInsertParams {
  return publish({
    id: i.toString(16).padStart(32, "0"),
    payload: { i, text: "some payload text to give rows a realistic size" },
    runAt: T0,
    expiresAt: T0 + 86_400_000,
    now: T0 + i,
  });
}

const MODES = [
  ["node:sqlite", "thread"],
  ["node:sqlite", "inline"],
  ...Object.keys(DRIVERS).filter((d) => d !== "node:sqlite").map((d) =>
    [d, "thread"] as const
  ),
] as const;

for (const [driver, checkpoint] of MODES) {
  // The trap this guards: an UPDATE … RETURNING stepped once pins the WAL and
  // it grows without bound (85 MB after 10k claims, `shared/MEASURED.md` beside the checkout).
  Deno.test(`sqlite:${driver}, checkpoint ${checkpoint}: the WAL stays bounded over ${LIFECYCLES} claim and fulfil lifecycles`, async () => {
    const { store, path } = await openTempStore({ driver, checkpoint });
    try {
      for (let i = 0; i < LIFECYCLES; i += 1000) {
        const items = Array.from({ length: 1000 }, (_, j) => intent(i + j));
        await store.intentInsertMany({ items, atomic: true });
      }
      let maxWal = 0;
      const now = T0 + LIFECYCLES;
      for (let i = 0; i < LIFECYCLES; i++) {
        const [c] = await store.intentClaim({
          namespace: "ns",
          goal: "g",
          caller: "w",
          master: false,
          publisher: null,
          workerId: null,
          capabilities: [],
          leaseMs: 60_000,
          max: 1,
          now,
        });
        assert.equal(c.id, intent(i).id);
        await store.intentFulfil({
          id: c.id,
          token: c.claimToken,
          caller: "w",
          now,
          result: { ok: i },
          resultType: "json",
        });
        if (i % 50 === 0) {
          maxWal = Math.max(maxWal, Deno.statSync(`${path}-wal`).size);
        }
      }
      maxWal = Math.max(maxWal, Deno.statSync(`${path}-wal`).size);
      assert.ok(maxWal < WAL_LIMIT[checkpoint], `WAL reached ${maxWal} bytes`);
      if (checkpoint === "thread") {
        // The thread, not SQLite's automatic checkpoint, kept it so.
        assert.equal(
          store.db.prepare("PRAGMA wal_autocheckpoint").get()
            ?.wal_autocheckpoint,
          0,
        );
        const stats = store.checkpoints!;
        assert.ok(stats.restarts > 0, "the WAL never rewound");
        // The file is cut back at each rewind, so its samples can miss a
        // peak; the passes saw each one.
        const peak = stats.peakWalFrames * (4096 + 24);
        assert.ok(peak < WAL_LIMIT.thread, `WAL held ${peak} bytes`);
      }
      const stats = await store.statsGet({ now });
      assert.equal(stats.states.fulfilled, LIFECYCLES);
      const check = store.db.prepare("PRAGMA integrity_check").all();
      assert.deepEqual(check.map((r) => r.integrity_check), ["ok"]);
    } finally {
      await store.close();
    }
  });
}

import assert from "node:assert/strict";
import type { IntentInsertParams } from "../storage.ts";
import { openTempStore } from "./_temp.ts";
import { publish } from "../testing/_fixtures.ts";
import { DRIVERS } from "./drivers/mod.ts";

const T0 = Date.UTC(2026, 0, 1);
const LIFECYCLES = 20_000;
const WAL_LIMIT = 16 * 1024 * 1024;

function intent(i: number): IntentInsertParams {
  return publish({
    id: i.toString(16).padStart(32, "0"),
    payload: { i, text: "some payload text to give rows a realistic size" },
    runAt: T0,
    expiresAt: T0 + 86_400_000,
    now: T0 + i,
  });
}

for (const driver of Object.keys(DRIVERS)) {
  // The trap this guards: an UPDATE … RETURNING stepped once pins the WAL and
  // it grows without bound (85 MB after 10k claims, MEASURED.md).
  Deno.test(`sqlite:${driver}: the WAL stays bounded over ${LIFECYCLES} claim and fulfil lifecycles`, async () => {
    const { store, path } = await openTempStore({ driver });
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
        if (i % 500 === 0) {
          maxWal = Math.max(maxWal, Deno.statSync(`${path}-wal`).size);
        }
      }
      maxWal = Math.max(maxWal, Deno.statSync(`${path}-wal`).size);
      assert.ok(maxWal < WAL_LIMIT, `WAL reached ${maxWal} bytes`);
      const stats = await store.statsGet({ now });
      assert.equal(stats.states.fulfilled, LIFECYCLES);
      const check = store.db.prepare("PRAGMA integrity_check").all();
      assert.deepEqual(check.map((r) => r.integrity_check), ["ok"]);
    } finally {
      await store.close();
    }
  });
}

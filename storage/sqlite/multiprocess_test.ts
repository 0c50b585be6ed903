import assert from "node:assert/strict";
import type { IntentInsertParams } from "../storage.ts";
import { openTempStore } from "./_temp.ts";
import { publish, T0 } from "../testing/_fixtures.ts";
import { DRIVERS } from "./drivers/mod.ts";

const COUNT = 1500;

function intent(i: number): IntentInsertParams {
  return publish({
    id: i.toString(16).padStart(32, "0"),
    payload: { i },
    runAt: T0,
    expiresAt: T0 + 86_400_000,
    now: T0 + i,
  });
}

async function claimer(path: string, driver: string): Promise<string[]> {
  const worker = new URL("./_claim_worker.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", worker.pathname, path, driver, String(T0 + 1e6)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

for (const driver of Object.keys(DRIVERS)) {
  Deno.test(`sqlite:${driver}: processes claiming from one file never take the same intent`, async () => {
    const { store, path } = await openTempStore({ driver });
    try {
      for (let i = 0; i < COUNT; i += 500) {
        const items = Array.from({ length: 500 }, (_, j) => intent(i + j));
        await store.intentInsertMany({ items, atomic: true });
      }
      const runs = await Promise.all([
        claimer(path, driver),
        claimer(path, driver),
        claimer(path, driver),
      ]);
      const all = runs.flat();
      assert.equal(all.length, COUNT);
      assert.equal(new Set(all).size, COUNT);
      const stats = await store.statsGet({ now: T0 + 1e6 });
      assert.equal(stats.states.fulfilled, COUNT);
      assert.equal(stats.states.claimed, 0);
    } finally {
      await store.close();
    }
  });
}

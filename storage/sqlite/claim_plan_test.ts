import assert from "node:assert/strict";
import { openTempStore } from "./_temp.ts";
import { DRIVERS } from "./drivers/mod.ts";
import { claimPeek, claimUpdate } from "./sql.ts";
import type { SqliteStore } from "./store.ts";

const T0 = Date.UTC(2026, 0, 1);
const ARGS = ["ns", "g", T0, "caller", 0, null, "w1", '["gpu"]'];

function plan(store: SqliteStore, sql: string, args: unknown[]): string[] {
  return store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .all(...args as [])
    .map((r) => String(r.detail));
}

function claimPlans(store: SqliteStore): string[][] {
  return [
    plan(store, claimPeek(10), ARGS),
    plan(store, claimUpdate(10), [
      ...ARGS,
      T0 + 60_000,
    ]),
  ];
}

/** Fills `goal` g of `ns` with `n` open intents in one transaction. */
function fill(store: SqliteStore, n: number): void {
  store.db.exec("BEGIN");
  const insert = store.db.prepare(
    `INSERT INTO intents (id, namespace, goal, payload, state, priority,
       visibility, publisher, max_attempts, backoff_base, run_at, expires_at,
       created_at, updated_at)
     VALUES (?1, 'ns', 'g', '{}', 'open', ?2, 'public', 'p', 3, 5, ?3, ?4,
       ?3, ?3)`,
  );
  for (let i = 0; i < n; i++) {
    insert.run(i.toString(16).padStart(32, "0"), i % 7, T0 - i, T0 + 1e9);
  }
  store.db.exec("COMMIT");
}

for (const driver of Object.keys(DRIVERS)) {
  Deno.test(`sqlite:${driver}: the claim reads the claim index in order, with no sort`, async () => {
    const { store } = await openTempStore({ driver });
    try {
      fill(store, 10);
      for (const steps of claimPlans(store)) {
        assert.ok(
          steps.some((s) => /USING INDEX intents_claim\b/.test(s)),
          steps.join("\n"),
        );
        assert.ok(
          !steps.some((s) => s.includes("TEMP B-TREE")),
          steps.join("\n"),
        );
        assert.ok(
          !steps.some((s) => /^SCAN intents\b/.test(s)),
          steps.join("\n"),
        );
      }
    } finally {
      await store.close();
    }
  });

  Deno.test(`sqlite:${driver}: the claim plan is the same with 100,000 open rows as with 10`, async () => {
    const { store } = await openTempStore({ driver });
    try {
      fill(store, 10);
      const small = claimPlans(store);
      store.db.exec("DELETE FROM intents");
      fill(store, 100_000);
      store.db.exec("ANALYZE");
      assert.deepEqual(claimPlans(store), small);
    } finally {
      await store.close();
    }
  });
}

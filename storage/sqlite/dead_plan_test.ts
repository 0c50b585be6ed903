import assert from "node:assert/strict";
import { deadListSql } from "../dead_list_sql.ts";
import type { DeadListParams } from "../storage.ts";
import { openTempStore } from "./_temp.ts";
import type { SqliteStore } from "./store.ts";

function plan(store: SqliteStore, p: Omit<DeadListParams, "limit">): string {
  const { sql, args } = deadListSql("sqlite", { ...p, limit: 50 });
  return store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .all(...args as [])
    .map((r) => String(r.detail)).join(" | ");
}

Deno.test("each dead-list filter seeks its own index, and only a goal across namespaces sorts", async () => {
  const t = await openTempStore();
  try {
    const cases: [Omit<DeadListParams, "limit">, RegExp][] = [
      [{}, /^SCAN dead_intents USING INDEX dead_intents_died$/],
      [
        { before: 5, beforeId: "x" },
        /^SEARCH dead_intents USING INDEX dead_intents_died \(\(died_at,id\)<\(\?,\?\)\)$/,
      ],
      [
        { namespace: "n" },
        /^SEARCH dead_intents USING INDEX dead_intents_namespace \(namespace=\?\)$/,
      ],
      [
        { namespace: "n", goal: "g", before: 5, beforeId: "x" },
        /^SEARCH dead_intents USING INDEX dead_intents_goal \(goal=\? AND namespace=\? AND \(died_at,id\)<\(\?,\?\)\)$/,
      ],
      // Across namespaces the goal's rows are found by index, then sorted.
      [
        { goal: "g" },
        /^SEARCH dead_intents USING INDEX dead_intents_goal \(goal=\?\)/,
      ],
    ];
    for (const [filter, expected] of cases) {
      assert.match(plan(t.store, filter), expected, JSON.stringify(filter));
    }
  } finally {
    await t.store.close();
  }
});

Deno.test("a goal with a few dead among many is listed and paged through its own index", async () => {
  const t = await openTempStore();
  try {
    const db = t.store.db;
    db.exec("BEGIN");
    const insert = db.prepare(
      `INSERT INTO dead_intents (id, namespace, goal, payload, state, priority,
       visibility, publisher, max_attempts, backoff_base, run_at, expires_at,
       created_at, updated_at, died_at, dead_reason)
     VALUES (?1, 'default', ?2, '{}', 'open', 100, 'public', 'p', 3, 5, 0, 0,
       0, ?3, ?3, 'failed')`,
    );
    for (let i = 0; i < 20_000; i++) {
      insert.run(
        i.toString(16).padStart(32, "0"),
        i % 5000 === 0 ? "rare" : "common",
        1000 + (i >> 3),
      );
    }
    db.exec("COMMIT");
    const first = await t.store.deadList({
      namespace: "default",
      goal: "rare",
      limit: 3,
    });
    assert.deepEqual(first.map((i) => i.goal), ["rare", "rare", "rare"]);
    const last = first[2];
    const rest = await t.store.deadList({
      namespace: "default",
      goal: "rare",
      limit: 3,
      before: last.updatedAt,
      beforeId: last.id,
    });
    assert.equal(rest.length, 1);
    assert.ok(rest[0].id < last.id);
  } finally {
    await t.store.close();
  }
});

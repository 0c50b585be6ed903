import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { prefillDirect, prefillPostgres } from "./scenarios.ts";
import { explainClaim } from "./claim_plan.ts";
import { openSqliteStore } from "../storage/sqlite/mod.ts";
import { createDatabase } from "../storage/postgres/_cluster.ts";
import { testCluster } from "../storage/postgres/_temp.ts";
import { CLAIM } from "../storage/postgres/sql.ts";

Deno.test("prefillDirect leaves exactly n open, claimable intents of the goal", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bus.db`;
    await prefillDirect(path, "backlog", 5000);
    const db = new DatabaseSync(path);
    const row = db.prepare(
      "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM intents WHERE goal = 'backlog' AND state = 'open'",
    ).get()!;
    db.close();
    assert.equal(Number(row.n), 5000);
    assert.equal(Number(row.ids), 5000);
    const store = await openSqliteStore({ path });
    try {
      const claimed = await store.intentClaim({
        namespace: "default",
        goal: "backlog",
        caller: "someone",
        master: false,
        publisher: null,
        workerId: null,
        capabilities: [],
        leaseMs: 60_000,
        max: 3,
        now: Date.now(),
      });
      assert.equal(claimed.length, 3);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("explainClaim reports the store's claim and the form forced onto intents_claim", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bus.db`;
    await prefillDirect(path, "bench.claim", 2000);
    const [store, forced] = explainClaim(path, "bench.claim");
    assert.equal(store.form, "store");
    assert.ok(store.plan.length > 0);
    assert.match(forced.plan.join("\n"), /USING INDEX intents_claim/);
    assert.ok(forced.msPerClaim > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with 100,000 intents queued in the claimed goal, the store's claim stays on intents_claim with no sort", async () => {
  // The backlog prefillDirect makes (bulk copies, then ANALYZE) once led
  // SQLite to a full scan and a sort: 54 ms per claim at 100,000 rows.
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bus.db`;
    await prefillDirect(path, "bench.claim", 100_000);
    const [store] = explainClaim(path, "bench.claim");
    const plan = store.plan.join("\n");
    assert.match(plan, /USING INDEX intents_claim/);
    assert.doesNotMatch(plan, /TEMP B-TREE|^SCAN intents\b/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prefillPostgres leaves n open intents, and the claim reads intents_claim in order, custom or generic plan", async () => {
  const db = await createDatabase(testCluster().url);
  const c = new pg.Client({ connectionString: db.url });
  try {
    await prefillPostgres(db.url, "backlog", 100_000);
    await c.connect();
    const row = (await c.query(
      `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids
         FROM intents WHERE goal = 'backlog' AND state = 'open'`,
    )).rows[0];
    assert.deepEqual(row, { n: 100_000, ids: 100_000 });
    // The store's claim as a prepared statement; after five runs PostgreSQL
    // may plan it once for any parameters (generic), so both are checked.
    await c.query(`PREPARE claim AS ${CLAIM}`);
    const args = `'default', 'backlog', ${Date.now()}, 'someone', true,
      NULL, NULL, ARRAY[]::text[], ${Date.now() + 60_000}, 8`;
    for (const mode of ["force_custom_plan", "force_generic_plan"]) {
      await c.query(`SET plan_cache_mode = ${mode}`);
      await c.query("BEGIN");
      const plan = (await c.query(`EXPLAIN ANALYZE EXECUTE claim(${args})`))
        .rows.map((r) => String(r["QUERY PLAN"])).join("\n");
      await c.query("ROLLBACK");
      assert.match(plan, /Index Scan using intents_claim/, plan);
      assert.doesNotMatch(plan, /Sort|Seq Scan on intents/, plan);
      assert.match(plan, /Update on intents .*rows=8 /, plan);
    }
  } finally {
    await c.end();
    await db.drop();
  }
});

/**
 * Shows the query plan and the time of the store's claim statement over a
 * backlog, as the storage layer writes it and forced onto `intents_claim`
 * with `INDEXED BY`, so a plan regression is easy to see and to reproduce.
 *
 * Usage: `deno run -A bench/claim_plan.ts [--queued 1000000] [--goal same|other]`
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { claimPeek } from "../storage/sqlite/sql.ts";
import { prefillDirect } from "./scenarios.ts";

/** The plan and the time per execution of one form of the claim. */
export interface PlanReport {
  /** `store` (as the storage layer writes it) or `INDEXED BY intents_claim`. */
  form: string;
  /** The `EXPLAIN QUERY PLAN` lines. */
  plan: string[];
  /** Mean time of one execution, ms. */
  msPerClaim: number;
}

/**
 * Explains and times the claim peek on a database.
 *
 * @param path A database filled by `prefillDirect`.
 * @param goal The goal to claim from.
 * @returns The store's form and the `INDEXED BY intents_claim` form.
 */
export function explainClaim(path: string, goal: string): PlanReport[] {
  const db = new DatabaseSync(path);
  try {
    const args = [
      "default",
      goal,
      BigInt(Date.now()),
      "bench",
      1n,
      null,
      null,
      "[]",
    ] as const;
    const store = claimPeek(1);
    const forced = store.includes("INDEXED BY intents_claim")
      ? store
      : store.replace(
        /FROM intents\b/,
        "FROM intents INDEXED BY intents_claim",
      );
    return [["store", store], ["INDEXED BY intents_claim", forced]].map(
      ([form, sql]) => {
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args)
          .map((r) => String(r.detail));
        const stmt = db.prepare(sql);
        let runs = 0;
        const t0 = performance.now();
        while (runs < 1000 && (runs < 3 || performance.now() - t0 < 2000)) {
          stmt.all(...args);
          runs++;
        }
        return { form, plan, msPerClaim: (performance.now() - t0) / runs };
      },
    );
  } finally {
    db.close();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      queued: { type: "string", default: "1000000" },
      goal: { type: "string", default: "same" },
    },
  });
  const dir = await Deno.makeTempDir({ prefix: "bench_plan_" });
  try {
    const path = `${dir}/bus.db`;
    const claimGoal = "bench.claim";
    const backlog = values.goal === "same" ? claimGoal : "bench.backlog";
    const s = await prefillDirect(path, backlog, Number(values.queued));
    console.log(
      `${values.queued} open intents in ${
        values.goal === "same" ? "the claimed goal" : "another goal"
      }, filled in ${s.toFixed(1)} s`,
    );
    for (const r of explainClaim(path, claimGoal)) {
      console.log(`\n${r.form}: ${r.msPerClaim.toFixed(3)} ms per claim`);
      for (const line of r.plan) console.log(`  ${line}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The goals `/metrics` and the dashboard list: the ones holding the most
 * intents, at most a few hundred. With 100,000 goals, `/metrics` was a
 * 30 MB answer that held the server for about 1.9 s at every scrape, and a
 * series per goal without bound is what Prometheus warns against.
 *
 * @example
 * ```ts
 * import { topGoals } from "./_top_goals.ts";
 *
 * const g = (goal: string, open: number) =>
 *   ({ namespace: "default", goal, open, delayed: 0, claimed: 0, dead: 0, paused: false });
 * const { listed, unlisted } = topGoals([g("a", 1), g("b", 9), g("c", 5)], 2);
 * console.log(listed.map((x) => x.goal), unlisted); // [ "b", "c" ] 1
 * ```
 *
 * @module
 */

import type { GoalStats } from "../../storage/storage.ts";

/** Most goals listed, by default. */
export const GOALS_LISTED = 500;

/**
 * Picks the goals with the most open, claimed and dead intents (a paused
 * goal always, whatever it holds), in their original order.
 *
 * @param goals Every goal's counts, from `store.statsGet`.
 * @param max How many to list.
 * @returns The goals listed, and how many were left out.
 */
export function topGoals(
  goals: GoalStats[],
  max: number = GOALS_LISTED,
): { listed: GoalStats[]; unlisted: number } {
  if (goals.length <= max) return { listed: goals, unlisted: 0 };
  const weight = (g: GoalStats) => g.open + g.claimed + g.dead;
  const kept = new Set(
    [...goals].sort((a, b) =>
      Number(b.paused) - Number(a.paused) || weight(b) - weight(a)
    ).slice(0, max),
  );
  return {
    listed: goals.filter((g) => kept.has(g)),
    unlisted: goals.length - max,
  };
}

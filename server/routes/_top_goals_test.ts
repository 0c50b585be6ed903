import assert from "node:assert/strict";
import type { GoalStats } from "../../storage/storage.ts";
import { topGoals } from "./_top_goals.ts";

const g = (goal: string, open: number, over: Partial<GoalStats> = {}) => ({
  namespace: "default",
  goal,
  open,
  delayed: 0,
  claimed: 0,
  dead: 0,
  paused: false,
  ...over,
});

Deno.test("topGoals keeps every goal when they fit", () => {
  const goals = [g("a", 1), g("b", 2)];
  assert.deepEqual(topGoals(goals, 2), { listed: goals, unlisted: 0 });
});

Deno.test("topGoals lists the goals holding the most, in their order, and counts the rest; a paused goal is always listed", () => {
  const goals = [
    g("small", 1),
    g("dead", 0, { dead: 50 }),
    g("paused", 0, { paused: true }),
    g("busy", 10, { claimed: 30 }),
    g("tiny", 0, { delayed: 0 }),
  ];
  const { listed, unlisted } = topGoals(goals, 3);
  assert.deepEqual(listed.map((x) => x.goal), ["dead", "paused", "busy"]);
  assert.equal(unlisted, 2);
});

import assert from "node:assert/strict";
import { claim } from "../testing/_fixtures.ts";
import type { ClaimedIntent } from "../../core/intent.ts";
import { ClaimGroups } from "./claim_groups.ts";

const P = claim();

/** Groups over a queue of ids, recording each statement's filters and LIMIT. */
function over(ids: string[]) {
  const runs: { goal: string; total: number }[] = [];
  const groups = new ClaimGroups((p, total) => {
    runs.push({ goal: p.goal, total });
    return Promise.resolve(
      ids.splice(0, total).map((id) => ({ id }) as ClaimedIntent),
    );
  });
  const idsOf = (xs: ClaimedIntent[]) => xs.map((x) => x.id);
  return { groups, runs, idsOf };
}

Deno.test("claims with the same filters in one turn share one statement, first come first served", async () => {
  const { groups, runs, idsOf } = over(["a", "b", "c", "d"]);
  const got = await Promise.all([
    groups.add({ ...P, max: 1 }),
    groups.add({ ...P, max: 2 }),
    groups.add({ ...P, max: 3 }),
  ]);
  assert.deepEqual(runs, [{ goal: "g", total: 6 }]);
  assert.deepEqual(got.map(idsOf), [["a"], ["b", "c"], ["d"]]);
});

Deno.test("other filters, another time, or past 100 intents make a statement of their own", async () => {
  const { groups, runs } = over(Array.from({ length: 300 }, (_, i) => `${i}`));
  await Promise.all([
    groups.add({ ...P, max: 60 }),
    groups.add({ ...P, max: 60 }), // 120 > 100: a group of its own
    groups.add({ ...P, goal: "h" }),
    groups.add({ ...P, now: 1 }),
    groups.add({ ...P, capabilities: ["gpu"] }),
  ]);
  assert.deepEqual(runs.map((r) => r.total).sort((a, b) => a - b), [
    1,
    1,
    1,
    60,
    60,
  ]);
  // A later turn starts afresh.
  await groups.add(P);
  assert.equal(runs.length, 6);
});

Deno.test("a failed statement fails every claim of its group", async () => {
  const groups = new ClaimGroups(() => Promise.reject(new Error("down")));
  const all = await Promise.allSettled([groups.add(P), groups.add(P)]);
  assert.deepEqual(all.map((r) => r.status), ["rejected", "rejected"]);
});

import assert from "node:assert/strict";
import { slope, soak } from "./soak.ts";

Deno.test("slope is the least-squares slope, 0 for fewer than two points", () => {
  assert.equal(slope([0, 1, 2, 3], [10, 12, 14, 16]), 2);
  assert.equal(slope([1, 2, 3], [5, 5, 5]), 0);
  assert.equal(slope([1], [7]), 0);
});

Deno.test("a one-round soak reports a clean round, the side traffic and the server's memory and files", async () => {
  const r = await soak({ minutes: 0, intents: 300, mode: "single" });
  assert.equal(r.rounds.length, 1);
  const [round] = r.rounds;
  assert.equal(round.intentsSoFar, 300);
  assert.ok(round.clean, "the round lost or repeated an intent");
  assert.ok(round.sideRequests > 0);
  assert.equal(round.sideFailures, 0);
  assert.ok(round.rssMiB > 10 && round.rssMiB < 2048, `${round.rssMiB}`);
  assert.ok(round.dbMiB > 0);
});

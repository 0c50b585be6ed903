import assert from "node:assert/strict";
import { Tally } from "./load_tally.ts";

Deno.test("a tally counts second deliveries and second fulfils as duplicates", () => {
  const t = new Tally();
  t.published("a", 0);
  t.delivered("a");
  t.delivered("a");
  t.fulfilled("a", 10);
  t.fulfilled("a", 20);
  assert.equal(t.duplicateDeliveries, 1);
  assert.equal(t.duplicateFulfils, 1);
  assert.equal(t.oursDone, 1);
  assert.equal(t.doneAt.get("a"), 10);
});

Deno.test("a tally counts an intent fulfilled before its publish answer once", () => {
  const t = new Tally();
  t.delivered("a");
  t.fulfilled("a", 5);
  assert.equal(t.oursDone, 0);
  t.published("a", 1);
  assert.equal(t.oursDone, 1);
  assert.equal(t.allFulfilled, true);
  const ours = t.ours(0);
  assert.equal(ours.fulfilled, 1);
  assert.equal(ours.last, 5);
  assert.equal(ours.e2e.summary().count, 1);
});

Deno.test("a tally leaves intents of others out and reports unfinished ones", () => {
  const t = new Tally();
  t.published("a", 0);
  t.published("b", 0);
  t.fulfilled("backlog", 3);
  t.fulfilled("a", 4);
  assert.equal(t.allFulfilled, false);
  const ours = t.ours(0);
  assert.equal(ours.fulfilled, 1);
  assert.equal(t.sentAt.size - ours.fulfilled, 1); // lost if the run ends
});

import assert from "node:assert/strict";
import { channelOf, GoalWatch, NOTICE_GAP_MS } from "./goal_watch.ts";

Deno.test("a publish notifies once per goal per gap, each goal on its own", async () => {
  const watch = new GoalWatch("me", channelOf(), () => {
    throw new Error("not listening in this test");
  });
  assert.equal(watch.noticeDue("ns", "a"), true);
  assert.equal(watch.noticeDue("ns", "a"), false);
  assert.equal(watch.noticeDue("ns", "b"), true);
  assert.equal(watch.noticeDue("other", "a"), true);
  await new Promise((r) => setTimeout(r, NOTICE_GAP_MS + 10));
  assert.equal(watch.noticeDue("ns", "a"), true);
  await watch.close();
});

Deno.test("a queue in a schema has a channel of its own, within PostgreSQL's 63 characters", () => {
  assert.equal(channelOf(), "intentbus");
  assert.equal(channelOf("jobs"), "intentbus_jobs");
  assert.equal(channelOf("s".repeat(63)).length, 63);
});

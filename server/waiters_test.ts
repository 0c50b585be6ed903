import assert from "node:assert/strict";
import { Waiters } from "./waiters.ts";

Deno.test("notify wakes the longest sleeper of its goal, one only", async () => {
  const w = new Waiters();
  const woken: string[] = [];
  const a = w.wait("g", 60_000).then((n) => (woken.push("a"), n));
  const b = w.wait("g", 60_000).then((n) => (woken.push("b"), n));
  w.notify("other");
  w.notify("g");
  assert.ok(await a > 0);
  assert.deepEqual(woken, ["a"]);
  w.close();
  assert.equal(await b, 0, "closing is not a notice");
});

Deno.test("passOn hands a notice to the next sleeper that was asleep when it came, never back to the one that gave it up", async () => {
  const w = new Waiters();
  const a = w.wait("g", 60_000);
  const b = w.wait("g", 60_000);
  w.notify("g");
  const notice = await a;
  // A could not use it and sleeps again, after the notice.
  const a2 = w.wait("g", 60_000);
  let a2Woken = false;
  a2.then(() => a2Woken = true);
  w.passOn("g", notice);
  assert.equal(await b, notice);
  // B could not use it either: nobody else was asleep before it came.
  w.passOn("g", notice);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(a2Woken, false);
  // A later notice reaches A.
  w.notify("g");
  assert.ok(await a2 > notice);
  w.close();
});

Deno.test("a sleep ends with 0 at its time, when its signal aborts, and at once after close", async () => {
  const w = new Waiters();
  assert.equal(await w.wait("g", 5), 0);
  const gone = new AbortController();
  const waiting = w.wait("g", 60_000, gone.signal);
  gone.abort();
  assert.equal(await waiting, 0);
  assert.equal(await w.wait("g", 60_000, gone.signal), 0);
  const all = [w.wait("g", 60_000), w.wait("h", 60_000)];
  w.notifyAll("g");
  assert.ok(await all[0] > 0);
  w.close();
  assert.equal(await all[1], 0);
  assert.equal(await w.wait("g", 60_000), 0);
  assert.equal(w.closed, true);
});

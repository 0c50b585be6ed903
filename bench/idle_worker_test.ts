import assert from "node:assert/strict";
import { hourlyRate, measureIdle } from "./idle_worker.ts";

Deno.test("the hourly rate counts start-up requests once and claims at their steady interval", () => {
  const r = hourlyRate([
    { path: "/health", at: 0 },
    { path: "/claim", at: 10 },
    { path: "/claim", at: 31_010 },
    { path: "/claim", at: 62_010 },
  ]);
  assert.equal(r.claims, 3);
  assert.equal(r.claimInterval, 31);
  assert.equal(r.perHour, 1 + 3600 / 31);
  assert.ok(Number.isNaN(hourlyRate([{ path: "/claim", at: 0 }]).perHour));
});

Deno.test("an idle SDK worker holds one long-poll where the original SDK's loop polls every second or two", async () => {
  // The worker asks /health once, then one claim with wait=30 that the
  // server holds past the end of the run.
  const longpoll = await measureIdle("longpoll", 5);
  assert.ok(
    longpoll.requests >= 1 && longpoll.requests <= 2,
    `${longpoll.requests}`,
  );
  assert.ok(longpoll.claims <= 1);
  // The original loop: a claim (held 1 s by the server) and a 1 s sleep.
  const original = await measureIdle("original", 5);
  assert.ok(original.claims >= 3, `${original.claims}`);
  assert.ok(original.perHour > 120, `${original.perHour}`);
});

import assert from "node:assert/strict";
import { measureIdle } from "./idle_worker.ts";

Deno.test("an idle SDK worker holds one long-poll where the original SDK's loop polls every second or two", async () => {
  // The worker asks /health once, then one claim with wait=30 that the
  // server holds past the end of the run.
  const longpoll = await measureIdle("longpoll", 5);
  assert.ok(
    longpoll.requests >= 1 && longpoll.requests <= 2,
    `${longpoll.requests}`,
  );
  // The original loop: a claim (held 1 s by the server) and a 1 s sleep.
  const original = await measureIdle("original", 5);
  assert.ok(original.requests >= 3, `${original.requests}`);
  assert.equal(original.perHour, original.requests * 720);
});

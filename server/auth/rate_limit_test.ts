import assert from "node:assert/strict";
import { ManualClock } from "../../core/clock.ts";
import { RateLimitedError } from "../../core/errors.ts";
import { makeTestApp } from "../testing.ts";
import { RateLimiter } from "./rate_limit.ts";

Deno.test("an issued key gets 429 rate_limited with Retry-After past its limit", async () => {
  await using t = await makeTestApp({ config: { rateLimitPerMinute: 3 } });
  const key = await t.issueKey();
  for (let i = 0; i < 3; i++) {
    assert.equal((await t.call("POST", "/claim?goal=g", { key })).status, 204);
  }
  const res = await t.call("POST", "/claim?goal=g", { key });
  assert.equal(res.status, 429);
  assert.equal(res.body.error.code, "rate_limited");
  assert.equal(res.headers.get("retry-after"), "20");
  t.clock.advance(20_000);
  assert.equal((await t.call("POST", "/claim?goal=g", { key })).status, 204);
});

Deno.test("the master key is never rate limited", async () => {
  await using t = await makeTestApp({ config: { rateLimitPerMinute: 1 } });
  for (let i = 0; i < 5; i++) {
    assert.equal((await t.call("POST", "/claim?goal=g")).status, 204);
  }
});

Deno.test("buckets are per key and refill continuously", () => {
  const clock = new ManualClock();
  const limiter = new RateLimiter({ perMinute: 60, clock });
  for (let i = 0; i < 60; i++) limiter.take("a");
  assert.throws(() => limiter.take("a"), RateLimitedError);
  limiter.take("b");
  clock.advance(1_000);
  limiter.take("a");
  assert.throws(
    () => limiter.take("a"),
    (e: RateLimitedError) => e.retryAfter === 1,
  );
});

Deno.test("a limit of 0 turns the limiter off", () => {
  const limiter = new RateLimiter({ perMinute: 0, clock: new ManualClock() });
  for (let i = 0; i < 1000; i++) limiter.take("a");
});

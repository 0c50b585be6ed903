import assert from "node:assert/strict";
import { backoffDelay, parseRetryAfter } from "./_backoff.ts";

Deno.test("Retry-After accepts whole and fractional seconds", () => {
  assert.equal(parseRetryAfter("1"), 1);
  assert.equal(parseRetryAfter(" 0.25 "), 0.25);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter("soon"), undefined);
});

Deno.test("Retry-After accepts an HTTP date relative to now", () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  const header = new Date(now + 3000).toUTCString();
  assert.equal(parseRetryAfter(header, now), 3);
  assert.equal(parseRetryAfter(new Date(now - 5000).toUTCString(), now), 0);
});

Deno.test("backoff ceiling doubles per attempt and stops at the maximum", () => {
  const top = () => 0.999999;
  assert.equal(backoffDelay(0, 100, 10_000, top), 99);
  assert.equal(backoffDelay(3, 100, 10_000, top), 799);
  assert.equal(backoffDelay(20, 100, 10_000, top), 9999);
  assert.equal(backoffDelay(5, 100, 10_000, () => 0), 0);
});

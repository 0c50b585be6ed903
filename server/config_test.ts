import assert from "node:assert/strict";
import { configFromEnv, DEFAULT_CONFIG } from "./config.ts";

Deno.test("numeric variables: defaults, zero, and clear errors for what is not a number or, for counts, not whole", () => {
  assert.equal(
    configFromEnv({}).rateLimitPerMinute,
    DEFAULT_CONFIG.rateLimitPerMinute,
  );
  assert.equal(configFromEnv({ BUS_RATE_LIMIT: "0" }).rateLimitPerMinute, 0);
  assert.equal(configFromEnv({ BUS_OPEN_QUOTA: " 50 " }).openQuota, 50);
  // Half a day of retention is a fine setting.
  assert.equal(
    configFromEnv({ BUS_RETENTION_DAYS: "0.5" }).retentionMs,
    12 * 3600 * 1000,
  );
  for (
    const [name, value, message] of [
      ["BUS_RATE_LIMIT", "abc", /not a number ≥ 0/],
      ["BUS_RATE_LIMIT", "-1", /not a number ≥ 0/],
      // 0.5 a minute never refills one whole token: every key locked out.
      ["BUS_RATE_LIMIT", "0.5", /not a whole number/],
      ["BUS_OPEN_QUOTA", "2.5", /not a whole number/],
    ] as const
  ) {
    assert.throws(
      () => configFromEnv({ [name]: value }),
      (e) => e instanceof RangeError && message.test(e.message),
      `${name}=${value}`,
    );
  }
});

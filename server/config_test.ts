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
      ["BUS_RATE_LIMIT", "abc", /not a whole number/],
      ["BUS_RATE_LIMIT", "-1", /not a whole number/],
      ["BUS_RETENTION_DAYS", "-1", /not a number ≥ 0/],
      ["BUS_EMPTY_HOLD_MS", "abc", /not a number ≥ 0/],
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

Deno.test("whole-number variables take decimal digits up to the largest safe integer, and refuse hex, exponents, decimals and anything larger", () => {
  assert.equal(
    configFromEnv({ BUS_OPEN_QUOTA: "9007199254740991" }).openQuota,
    Number.MAX_SAFE_INTEGER,
  );
  for (const name of ["BUS_OPEN_QUOTA", "BUS_RATE_LIMIT"]) {
    for (
      const value of [
        "9007199254740992",
        "9007199254740993",
        "1e300",
        "0x10",
        "1e3",
        "5.0",
        "+5",
        "Infinity",
      ]
    ) {
      assert.throws(
        () => configFromEnv({ [name]: value }),
        (e) =>
          e instanceof RangeError &&
          e.message.startsWith(`Invalid ${name}: "${value}"`),
        `${name}=${value}`,
      );
    }
  }
});

Deno.test("true/false variables take 1/0, true/false, yes/no, on/off in any case, treat empty as unset, and refuse anything else naming the variable", () => {
  const names = {
    BUS_REQUIRE_SIGNATURES: "requireSignatures",
    BUS_ENFORCE_HTTPS: "enforceHttps",
    BUS_TRUST_PROXY: "trustProxy",
    BUS_MAINTENANCE_MODE: "maintenanceMode",
    BUS_EXTENSIONS: "extensions",
  } as const;
  for (const [name, field] of Object.entries(names)) {
    for (const v of ["1", "true", "YES", " On "]) {
      assert.equal(configFromEnv({ [name]: v })[field], true, `${name}=${v}`);
    }
    for (const v of ["0", "False", "no", "OFF"]) {
      assert.equal(configFromEnv({ [name]: v })[field], false, `${name}=${v}`);
    }
    assert.equal(
      configFromEnv({ [name]: "" })[field],
      DEFAULT_CONFIG[field],
      `${name}=""`,
    );
    for (const v of ["ture", "enabled", "2", "y"]) {
      assert.throws(
        () => configFromEnv({ [name]: v }),
        (e) =>
          e instanceof RangeError &&
          e.message.startsWith(`Invalid ${name}: "${v}"`),
        `${name}=${v}`,
      );
    }
  }
});

Deno.test("BUS_RETENTION_DAYS=0 is refused (it would delete every finished intent), above 36500 too, and is kept in whole ms; BUS_EMPTY_HOLD_MS is at most the longest claim wait, 30000", () => {
  assert.throws(
    () => configFromEnv({ BUS_RETENTION_DAYS: "0" }),
    /Invalid BUS_RETENTION_DAYS: "0": 0 would delete every finished intent/,
  );
  // PostgreSQL compares the cut-off as a bigint: whole ms, not too far.
  assert.equal(
    configFromEnv({ BUS_RETENTION_DAYS: "0.0000001" }).retentionMs,
    9,
  );
  assert.equal(
    configFromEnv({ BUS_RETENTION_DAYS: "36500" }).retentionMs,
    36_500 * 86_400_000,
  );
  assert.throws(
    () => configFromEnv({ BUS_RETENTION_DAYS: "1e300" }),
    /Invalid BUS_RETENTION_DAYS: "1e300" is more than 36500/,
  );
  assert.equal(
    configFromEnv({ BUS_EMPTY_HOLD_MS: "30000" }).emptyHoldMs,
    30_000,
  );
  assert.throws(
    () => configFromEnv({ BUS_EMPTY_HOLD_MS: "30001" }),
    /Invalid BUS_EMPTY_HOLD_MS: "30001" is more than 30000/,
  );
});

/**
 * Server configuration: one plain object, built from the environment by
 * {@linkcode configFromEnv} or written out by tests.
 *
 * @example
 * ```ts
 * import { configFromEnv } from "./config.ts";
 *
 * const config = configFromEnv({ BUS_SECRET: "s3cret", BUS_TRUST_PROXY: "true" });
 * console.log(config.trustProxy, config.rateLimitPerMinute); // true 60
 * ```
 *
 * @module
 */

import { LIMITS } from "../core/limits.ts";

/** Everything the app reads from its environment. */
export interface ServerConfig {
  /** The master API key (`BUS_SECRET`): unlimited, may claim any publisher's intents. */
  masterKey: string;
  /** `X-Admin-Token` for `/admin/*` (`BUS_ADMIN_SECRET`); empty disables the token. */
  adminSecret: string;
  /** Password of HTTP Basic `admin:<password>` (`DASHBOARD_PASSWORD`); empty disables it. */
  dashboardPassword: string;
  /** `Authorization: Bearer` token for `/metrics` (`BUS_METRICS_TOKEN`); empty: admin only. */
  metricsToken: string;
  /** Refuse unsigned requests (`BUS_REQUIRE_SIGNATURES=true`). */
  requireSignatures: boolean;
  /** Refuse plain HTTP from non-loopback clients (`BUS_ENFORCE_HTTPS=true`). */
  enforceHttps: boolean;
  /** Believe `X-Forwarded-Proto` (`BUS_TRUST_PROXY=true`). */
  trustProxy: boolean;
  /** Answer writes with 503 `maintenance` (`BUS_MAINTENANCE_MODE=true`). */
  maintenanceMode: boolean;
  /** Requests per minute per issued key (`BUS_RATE_LIMIT`); 0 turns it off. */
  rateLimitPerMinute: number;
  /** Open plus claimed intents per issued key (`BUS_OPEN_QUOTA`); 0 turns it off. */
  openQuota: number;
  /** Fulfilled and dead intents, and idempotency keys, are kept this long (`BUS_RETENTION_DAYS`, default 7). */
  retentionMs: number;
  /** Largest accepted request body, in bytes. */
  bodyBytes: number;
  /** The version string `/health` reports. */
  version: string;
  /**
   * Offer the protocol extensions (`BUS_EXTENSIONS`, default true; the
   * server's `--no-extensions` flag): long-poll, batch claim and lease
   * length on `/claim`, `/intents`, `/ack`, `/release`, pause, resume and
   * redrive, and `features` in `/health`. Off, the server answers like the
   * original 2.1 server.
   */
  extensions: boolean;
  /**
   * How long an empty claim without `wait` is held before its 204, in ms
   * (`BUS_EMPTY_HOLD_MS`, default 1000; 0 answers at once). A publish to
   * the goal ends the hold at once with the new intent, so a worker that
   * polls without sleeping costs a parked request instead of a query per
   * loop. The default matches the `Retry-After: 1` of the 204: a client
   * that honours it loses nothing, and 200 clients that ignore it cost one
   * request each per second (with 100 ms, a publisher beside them kept 0.84
   * of its rate; with 1000, 0.99).
   */
  emptyHoldMs: number;
  /**
   * How often a waiting claim looks again without being woken, in ms
   * (default 1000): delayed intents and reaped leases become due with no
   * event to wake it.
   */
  recheckMs: number;
}

/** The server's version, reported by `/health` and `/`. */
export const SERVER_VERSION = "0.1.0";

/** Defaults for every field but the secrets; handy in tests. */
export const DEFAULT_CONFIG: ServerConfig = {
  masterKey: "",
  adminSecret: "",
  dashboardPassword: "",
  metricsToken: "",
  requireSignatures: false,
  enforceHttps: false,
  trustProxy: false,
  maintenanceMode: false,
  rateLimitPerMinute: LIMITS.rateLimitPerMinute,
  openQuota: LIMITS.openQuota,
  retentionMs: 7 * 24 * 3600 * 1000,
  bodyBytes: LIMITS.bodyBytes,
  version: SERVER_VERSION,
  extensions: true,
  emptyHoldMs: 1000,
  recheckMs: 1000,
};

const TRUE_WORDS = /^(1|true|yes|on)$/i;
const FALSE_WORDS = /^(0|false|no|off)$/i;

/**
 * A true/false variable: 1/0, true/false, yes/no, on/off (any case); unset
 * or empty gives `fallback`. Anything else is refused, so a typo in a
 * security switch (`BUS_REQUIRE_SIGNATURES=ture`) stops the server instead
 * of leaving it off.
 */
function flag(name: string, value: string | undefined, fallback: boolean) {
  const v = (value ?? "").trim();
  if (v === "") return fallback;
  if (TRUE_WORDS.test(v)) return true;
  if (FALSE_WORDS.test(v)) return false;
  throw new RangeError(
    `Invalid ${name}: "${value}" (true or false: 1/0, true/false, yes/no, on/off)`,
  );
}

function count(name: string, value: string | undefined, fallback: number) {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new RangeError(`Invalid ${name}: "${value}" is not a number ≥ 0`);
  }
  return n;
}

/**
 * A whole-number variable: decimal digits only (no `0x10`, `1e3`, `5.0`),
 * at most `max` (a safe integer at most, so that sums stay exact); unset
 * or empty gives `fallback`.
 *
 * @param name The variable, named in the error.
 * @param value Its value, if any.
 * @param fallback The value when unset or empty.
 * @param min The smallest accepted.
 * @param max The largest accepted.
 * @returns The number.
 * @throws {RangeError} naming the variable and the accepted range.
 */
export function wholeVar(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = (value ?? "").trim();
  if (v === "") return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new RangeError(
      `Invalid ${name}: "${value}" is not a whole number from ${min} to ${max}`,
    );
  }
  return n;
}

/** The longest `BUS_EMPTY_HOLD_MS`: the longest `wait` of a claim. */
export const EMPTY_HOLD_MAX_MS = LIMITS.waitMax * 1000;

/** The longest `BUS_RETENTION_DAYS`: a hundred years, in whole ms. */
export const RETENTION_MAX_DAYS = 36_500;

/**
 * `BUS_RETENTION_DAYS` in whole ms (PostgreSQL compares it as a bigint).
 * Fractions of a day are fine; 0 is refused: it would keep nothing.
 */
function retentionMs(value: string | undefined): number {
  const days = count("BUS_RETENTION_DAYS", value, 7);
  const ms = Math.round(days * 24 * 3600 * 1000);
  if (ms === 0) {
    throw new RangeError(
      `Invalid BUS_RETENTION_DAYS: "${value}": 0 would delete every finished intent at the next pass (it does not turn the clean-up off); give the days to keep them, such as 0.5 or 30`,
    );
  }
  if (days > RETENTION_MAX_DAYS) {
    throw new RangeError(
      `Invalid BUS_RETENTION_DAYS: "${value}" is more than ${RETENTION_MAX_DAYS}`,
    );
  }
  return ms;
}

function emptyHold(value: string | undefined): number {
  const ms = count("BUS_EMPTY_HOLD_MS", value, 1000);
  if (ms > EMPTY_HOLD_MAX_MS) {
    throw new RangeError(
      `Invalid BUS_EMPTY_HOLD_MS: "${value}" is more than ${EMPTY_HOLD_MAX_MS} (the longest claim wait)`,
    );
  }
  return ms;
}

/**
 * Reads the protocol's environment variables, plus `BUS_RATE_LIMIT`,
 * `BUS_OPEN_QUOTA`, `BUS_RETENTION_DAYS`, `BUS_EXTENSIONS` and `BUS_EMPTY_HOLD_MS`. Does not check that a master key
 * is set: `main.ts` decides that.
 *
 * @param env The environment, such as `Deno.env.toObject()`.
 * @param overrides Fields that win over the environment (from flags).
 * @returns The configuration.
 * @throws {RangeError} naming the variable: a numeric variable not a
 *   number ≥ 0, `BUS_RATE_LIMIT` or `BUS_OPEN_QUOTA` not a whole one
 *   (decimal digits, a safe integer), `BUS_RETENTION_DAYS` 0 or above 36,500,
 *   `BUS_EMPTY_HOLD_MS` above 30,000, or a true/false variable that is
 *   neither (an empty variable counts as unset).
 */
export function configFromEnv(
  env: Record<string, string | undefined>,
  overrides: Partial<ServerConfig> = {},
): ServerConfig {
  return {
    ...DEFAULT_CONFIG,
    masterKey: env.BUS_SECRET ?? "",
    adminSecret: env.BUS_ADMIN_SECRET ?? "",
    dashboardPassword: env.DASHBOARD_PASSWORD ?? "",
    metricsToken: env.BUS_METRICS_TOKEN ?? "",
    requireSignatures: flag(
      "BUS_REQUIRE_SIGNATURES",
      env.BUS_REQUIRE_SIGNATURES,
      false,
    ),
    enforceHttps: flag("BUS_ENFORCE_HTTPS", env.BUS_ENFORCE_HTTPS, false),
    trustProxy: flag("BUS_TRUST_PROXY", env.BUS_TRUST_PROXY, false),
    maintenanceMode: flag(
      "BUS_MAINTENANCE_MODE",
      env.BUS_MAINTENANCE_MODE,
      false,
    ),
    rateLimitPerMinute: wholeVar(
      "BUS_RATE_LIMIT",
      env.BUS_RATE_LIMIT,
      LIMITS.rateLimitPerMinute,
    ),
    openQuota: wholeVar("BUS_OPEN_QUOTA", env.BUS_OPEN_QUOTA, LIMITS.openQuota),
    retentionMs: retentionMs(env.BUS_RETENTION_DAYS),
    extensions: flag("BUS_EXTENSIONS", env.BUS_EXTENSIONS, true),
    emptyHoldMs: emptyHold(env.BUS_EMPTY_HOLD_MS),
    ...overrides,
  };
}

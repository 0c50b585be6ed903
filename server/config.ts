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

function flag(value: string | undefined): boolean {
  return /^(1|true|yes|on)$/i.test((value ?? "").trim());
}

function flagOn(value: string | undefined): boolean {
  return !/^(0|false|no|off)$/i.test((value ?? "").trim());
}

function count(name: string, value: string | undefined, fallback: number) {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new RangeError(`Invalid ${name}: "${value}" is not a number ≥ 0`);
  }
  return n;
}

/** A count of things: a fraction of a request or an intent means nothing. */
function whole(name: string, value: string | undefined, fallback: number) {
  const n = count(name, value, fallback);
  if (!Number.isInteger(n)) {
    throw new RangeError(`Invalid ${name}: "${value}" is not a whole number`);
  }
  return n;
}

/**
 * Reads the protocol's environment variables, plus `BUS_RATE_LIMIT`,
 * `BUS_OPEN_QUOTA`, `BUS_RETENTION_DAYS`, `BUS_EXTENSIONS` and `BUS_EMPTY_HOLD_MS`. Does not check that a master key
 * is set: `main.ts` decides that.
 *
 * @param env The environment, such as `Deno.env.toObject()`.
 * @param overrides Fields that win over the environment (from flags).
 * @returns The configuration.
 * @throws {RangeError} when a numeric variable is not a number ≥ 0, or
 *   `BUS_RATE_LIMIT` or `BUS_OPEN_QUOTA` not a whole one.
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
    requireSignatures: flag(env.BUS_REQUIRE_SIGNATURES),
    enforceHttps: flag(env.BUS_ENFORCE_HTTPS),
    trustProxy: flag(env.BUS_TRUST_PROXY),
    maintenanceMode: flag(env.BUS_MAINTENANCE_MODE),
    rateLimitPerMinute: whole(
      "BUS_RATE_LIMIT",
      env.BUS_RATE_LIMIT,
      LIMITS.rateLimitPerMinute,
    ),
    openQuota: whole("BUS_OPEN_QUOTA", env.BUS_OPEN_QUOTA, LIMITS.openQuota),
    retentionMs: count("BUS_RETENTION_DAYS", env.BUS_RETENTION_DAYS, 7) *
      24 * 3600 * 1000,
    extensions: flagOn(env.BUS_EXTENSIONS),
    emptyHoldMs: count("BUS_EMPTY_HOLD_MS", env.BUS_EMPTY_HOLD_MS, 1000),
    ...overrides,
  };
}

/**
 * The per-key rate limit: an in-memory token bucket per issued key (60 a
 * minute by default, refilled continuously). The master key is not limited.
 * In memory on purpose: the original took SQLite's write lock for every
 * request to count it.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./rate_limit.ts";
 * import { ManualClock } from "../../core/clock.ts";
 *
 * const limiter = new RateLimiter({ perMinute: 2, clock: new ManualClock() });
 * limiter.take("k");
 * limiter.take("k");
 * try { limiter.take("k"); } catch (e) { console.log((e as Error).name); } // "RateLimitedError"
 * ```
 *
 * @module
 */

import type { Clock } from "../../core/clock.ts";
import { RateLimitedError } from "../../core/errors.ts";

/** Options of {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Requests per minute per key; 0 disables the limit. */
  perMinute: number;
  clock: Clock;
  /** Most tracked keys before idle ones are dropped; default 100,000. */
  maxKeys?: number;
}

/** Token buckets, one per key. */
export class RateLimiter {
  #o: RateLimiterOptions;
  #buckets = new Map<string, { tokens: number; at: number }>();

  /** @param options Rate, clock and capacity. */
  constructor(options: RateLimiterOptions) {
    this.#o = options;
  }

  /**
   * Spends one request of `key`.
   *
   * @param key Who is calling (the key's hash).
   * @throws {RateLimitedError} with the seconds until one token is back.
   */
  take(key: string): void {
    const cap = this.#o.perMinute;
    if (cap <= 0) return;
    const now = this.#o.clock.now();
    const perMs = cap / 60_000;
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= (this.#o.maxKeys ?? 100_000)) this.#prune(now);
      b = { tokens: cap, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(cap, b.tokens + (now - b.at) * perMs);
      b.at = now;
    }
    if (b.tokens < 1) {
      const wait = Math.ceil((1 - b.tokens) / perMs / 1000);
      throw new RateLimitedError(
        `Too many requests: the limit is ${cap} a minute`,
        Math.max(1, wait),
      );
    }
    b.tokens -= 1;
  }

  #prune(now: number): void {
    const perMs = this.#o.perMinute / 60_000;
    for (const [k, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * perMs >= this.#o.perMinute) {
        this.#buckets.delete(k);
      }
    }
    if (this.#buckets.size >= (this.#o.maxKeys ?? 100_000)) {
      this.#buckets.clear();
    }
  }
}

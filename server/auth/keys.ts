/**
 * API keys: the master key from `BUS_SECRET`, and issued keys stored only as
 * their SHA-256 hex hash. Lookups are cached in memory for
 * {@linkcode KEY_CACHE_MS} (5 s), so the hot path reads the database once per
 * key per 5 s instead of once per request. A revoke takes effect at once on
 * the server that revoked the key (it drops its entry), and within those 5 s
 * on the other servers sharing the database, whose entries run out.
 *
 * @example
 * ```ts
 * import { generateApiKey, sha256Hex } from "./keys.ts";
 *
 * const key = generateApiKey();
 * console.log(key.startsWith("ib_"), (await sha256Hex(key)).length); // true 64
 * ```
 *
 * @module
 */

import type { Clock } from "../../core/clock.ts";
import type { Storage } from "../../storage/storage.ts";
import { timingSafeEqual } from "../../core/signing.ts";

/** Who is calling. */
export interface Principal {
  /** SHA-256 hex of the key: the identity stored as publisher and claimer. */
  hash: string;
  /** The master key: no rate limit or quota, sees every private intent. */
  master: boolean;
  /** The raw key, kept only in memory to verify signatures. */
  key: string;
}

const encoder = new TextEncoder();

/**
 * SHA-256 of a string, as lowercase hex.
 *
 * @param text Any string.
 * @returns 64 hex characters.
 */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  let out = "";
  for (const b of new Uint8Array(digest)) {
    out += b.toString(16).padStart(2, "0");
  }
  return out;
}

/**
 * A new API key: `ib_` and 32 random bytes in base64url.
 *
 * @returns The key; show it once, store only its hash.
 */
export function generateApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return "ib_" +
    btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * How long a looked-up key is trusted without asking the store, by default.
 * It is the longest a revoked key keeps working on the other servers of one
 * database, so it is kept short; a busy key still costs one query per 5 s
 * rather than one per request.
 */
export const KEY_CACHE_MS = 5_000;

/** Options of {@linkcode ApiKeys}. */
export interface ApiKeysOptions {
  store: Storage;
  clock: Clock;
  /** `BUS_SECRET`; empty means no master key. */
  masterKey: string;
  /** How long a looked-up key is trusted without asking the store; default {@linkcode KEY_CACHE_MS}. */
  cacheMs?: number;
  /** Most cached keys; the cache is emptied when full. Default 10,000. */
  maxEntries?: number;
}

/** Resolves `X-API-KEY` values to principals, with a small cache. */
export class ApiKeys {
  #o: Required<ApiKeysOptions>;
  #cache = new Map<string, { principal: Principal; until: number }>();
  #master: Principal | null = null;

  /** @param options The store, clock, master key and cache settings. */
  constructor(options: ApiKeysOptions) {
    this.#o = { cacheMs: KEY_CACHE_MS, maxEntries: 10_000, ...options };
  }

  /**
   * Finds who a key belongs to.
   *
   * @param key The `X-API-KEY` header.
   * @returns The principal, or null for an unknown or revoked key.
   */
  async resolve(key: string): Promise<Principal | null> {
    const master = this.#o.masterKey;
    if (master !== "" && timingSafeEqual(key, master)) {
      this.#master ??= { hash: await sha256Hex(master), master: true, key };
      return this.#master;
    }
    const now = this.#o.clock.now();
    const hit = this.#cache.get(key);
    if (hit && hit.until > now) return hit.principal;
    const hash = await sha256Hex(key);
    const row = await this.#o.store.apiKeyGet({ hash });
    if (!row || row.revokedAt !== null) {
      this.#cache.delete(key);
      return null;
    }
    if (this.#cache.size >= this.#o.maxEntries) this.#cache.clear();
    const principal = { hash, master: false, key };
    this.#cache.set(key, { principal, until: now + this.#o.cacheMs });
    return principal;
  }

  /**
   * Issues a key for `owner`, storing only its hash.
   *
   * @param owner Who the key is for.
   * @returns The raw key, to be shown once.
   */
  async issue(owner: string): Promise<string> {
    const key = generateApiKey();
    await this.#o.store.apiKeyInsert({
      hash: await sha256Hex(key),
      owner,
      now: this.#o.clock.now(),
    });
    return key;
  }

  /**
   * Revokes an issued key and forgets it at once; other servers of the same
   * database stop accepting it within {@linkcode KEY_CACHE_MS}.
   *
   * @param key The raw key.
   * @returns False when no live issued key matched.
   */
  async revoke(key: string): Promise<boolean> {
    this.#cache.delete(key);
    return await this.#o.store.apiKeyRevoke({
      hash: await sha256Hex(key),
      now: this.#o.clock.now(),
    });
  }
}

/**
 * Strict auth: verifies `X-Timestamp`, `X-Nonce` and `X-Signature` (see
 * `core/signing.ts` for the canonical form). A request carrying
 * `X-Signature` is always verified; with `requireSignatures` every request
 * must carry one. Nonces are remembered per key through `store.nonceUse` for
 * twice the allowed skew, so a replay inside the window is refused.
 *
 * @example
 * ```ts
 * import { SignatureChecker } from "./hmac.ts";
 * import { systemClock } from "../../core/clock.ts";
 * import { openSqliteStore } from "../../storage/sqlite/mod.ts";
 *
 * const store = await openSqliteStore({ path: ":memory:" });
 * const checker = new SignatureChecker({ store, clock: systemClock, required: false });
 * const req = new Request("http://x/health");
 * // No X-Signature and not required: nothing to check.
 * await checker.check(req, { hash: "h", master: false, key: "k" }, new Uint8Array());
 * await store.close();
 * ```
 *
 * @module
 */

import type { Clock } from "../../core/clock.ts";
import { AuthError } from "../../core/errors.ts";
import { LIMITS } from "../../core/limits.ts";
import {
  canonicalTarget,
  importSigningKey,
  verifyRequest,
} from "../../core/signing.ts";
import type { Storage } from "../../storage/storage.ts";
import type { Principal } from "./keys.ts";

/** Options of {@linkcode SignatureChecker}. */
export interface SignatureCheckerOptions {
  store: Storage;
  clock: Clock;
  /** Refuse requests without a signature (`BUS_REQUIRE_SIGNATURES`). */
  required: boolean;
  /** Allowed clock skew in seconds; default 300. */
  skewSeconds?: number;
}

const NONCE_PATTERN = /^[\x21-\x7e]{8,128}$/;
const TIMESTAMP_PATTERN = /^\s*\d{1,15}\s*$/;

function refuse(message: string): never {
  throw new AuthError(message, "invalid_signature");
}

/** Verifies signed requests. */
export class SignatureChecker {
  #o: SignatureCheckerOptions;
  #skew: number;
  #keys = new Map<string, Promise<CryptoKey>>();

  /** @param options Store, clock, and whether signatures are mandatory. */
  constructor(options: SignatureCheckerOptions) {
    this.#o = options;
    this.#skew = options.skewSeconds ?? LIMITS.signatureSkew;
  }

  #cryptoKey(key: string): Promise<CryptoKey> {
    let k = this.#keys.get(key);
    if (!k) {
      if (this.#keys.size >= 10_000) this.#keys.clear();
      k = importSigningKey(key);
      this.#keys.set(key, k);
    }
    return k;
  }

  /**
   * Checks the signature headers of a request, if it has any or must.
   *
   * @param req The request (headers, method and URL are read).
   * @param who The caller, already authenticated by key.
   * @param body The exact body bytes received.
   * @throws {AuthError} `invalid_signature` for a missing, malformed, stale,
   *   wrong or replayed signature.
   */
  async check(req: Request, who: Principal, body: Uint8Array): Promise<void> {
    const sig = req.headers.get("x-signature");
    if (sig === null || sig === "") {
      if (this.#o.required) {
        refuse("Missing signature: X-Signature is required");
      }
      return;
    }
    const ts = req.headers.get("x-timestamp");
    const nonce = req.headers.get("x-nonce");
    if (ts === null || nonce === null) {
      refuse("Missing signature headers: X-Timestamp and X-Nonce are required");
    }
    if (!TIMESTAMP_PATTERN.test(ts)) refuse("Invalid X-Timestamp");
    if (!NONCE_PATTERN.test(nonce)) refuse("Invalid X-Nonce");
    const now = this.#o.clock.now();
    if (Math.abs(now / 1000 - Number(ts)) > this.#skew) {
      refuse(`Stale timestamp: more than ${this.#skew} s from server time`);
    }
    let target: string;
    try {
      target = canonicalTarget(new URL(req.url));
    } catch {
      refuse("Bad signature");
    }
    const ok = await verifyRequest(await this.#cryptoKey(who.key), {
      method: req.method,
      target,
      timestamp: ts,
      nonce,
      body,
    }, sig.trim());
    if (!ok) refuse("Bad signature");
    const fresh = await this.#o.store.nonceUse({
      key: who.hash,
      nonce,
      expiresAt: now + 2 * this.#skew * 1000,
      now,
    });
    if (!fresh) refuse("Replay detected: nonce already used");
  }
}

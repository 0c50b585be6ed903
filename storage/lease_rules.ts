/**
 * The lease rules every store applies, written once: which row a lease
 * operation may act on, the retry backoff, and the life of a redriven
 * intent. Stores read the row their own way and call these.
 *
 * @example A stale token loses the lease
 * ```ts
 * import { checkLease } from "./lease_rules.ts";
 *
 * const row = { state: "claimed", claim_token: "new", claimed_by: "w", lease_expires_at: 2 };
 * const p = { id: "i", token: "old", caller: "w", now: 1 };
 * try {
 *   checkLease(p, row, false, { allowOpen: false });
 * } catch (err) {
 *   console.log((err as Error).name); // "LeaseLostError"
 * }
 * ```
 *
 * @module
 */

import {
  ConflictError,
  LeaseLostError,
  NotFoundError,
} from "../core/errors.ts";
import type { Row } from "./rows.ts";
import type { LeaseParams } from "./storage.ts";

/** How long a retried or redriven intent stays claimable. */
export const REDRIVE_TTL_MS = 24 * 3600 * 1000;

/**
 * Backoff before the next attempt, in ms:
 * `min(base × 2^attempts, 3600) + jitter × base` seconds.
 *
 * @param base Backoff base in seconds. @param attempts Claims so far.
 * @param jitter In [0, 1).
 * @returns Milliseconds.
 */
export function backoffMs(
  base: number,
  attempts: number,
  jitter: number,
): number {
  return Math.trunc(
    (Math.min(base * 2 ** attempts, 3600) + jitter * base) * 1000,
  );
}

/**
 * What a lease's token becomes on the row when fail or release ends it:
 * `failed:<token>` or `released:<token>`. It stays on the row, live or dead,
 * until the next claim gives a fresh token, so a replay of the same call
 * (its first answer lost on the way) is recognised and answered as before
 * instead of with `lease_lost`. Real tokens are hex, so it never matches
 * one: a fulfil or extend with the old token still loses.
 *
 * @param how The call that ended the lease.
 * @param token The lease's token.
 * @returns The marker stored in `claim_token`.
 */
export function endedToken(how: "failed" | "released", token: string): string {
  return `${how}:${token}`;
}

/**
 * A stored `claim_token` as callers see it: null once fail or release has
 * ended the lease (see {@linkcode endedToken}).
 *
 * @param value The column's value.
 * @returns The live token, or null.
 */
export function liveToken(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const token = String(value);
  return token.includes(":") ? null : token;
}

/** What a lease operation accepts besides a live claim. */
export interface LeaseAllow {
  /** An open intent whose token still matches (fulfil after a reaped lease). */
  allowOpen: boolean;
  /** A fulfilled intent whose token matches (a replayed fulfil whose first answer was lost). */
  allowFulfilled?: boolean;
}

/**
 * Throws unless the live row may be acted on under lease `p`: with a token,
 * the token must match a claimed row (or an open or fulfilled one, where
 * allowed); without one (the v1.1 form), the caller must hold a live lease.
 *
 * @param p The lease. @param row The live row (`state`, `claim_token`,
 * `claimed_by`, `lease_expires_at`), or null when there is none.
 * @param dead Whether the dead-letter table holds the id (read only when `row` is null).
 * @param allow See {@linkcode LeaseAllow}.
 * @throws {NotFoundError} no such intent. @throws {LeaseLostError} otherwise.
 */
export function checkLease(
  p: LeaseParams,
  row: Row | null,
  dead: boolean,
  allow: LeaseAllow,
): asserts row is Row {
  if (!row) {
    if (dead) throw new LeaseLostError(`Intent is dead: "${p.id}"`);
    throw new NotFoundError(`Intent not found: "${p.id}"`);
  }
  if (p.token !== null) {
    // A marker of an ended lease (see `endedToken`) is never a token.
    if (row.claim_token !== p.token || p.token.includes(":")) {
      throw new LeaseLostError(
        `Claim token does not match: intent "${p.id}" was re-claimed or released`,
      );
    }
    if (
      row.state === "claimed" || (allow.allowOpen && row.state === "open") ||
      (allow.allowFulfilled && row.state === "fulfilled")
    ) return;
    throw new LeaseLostError(
      `Intent is not claimed: "${p.id}" is ${row.state}`,
    );
  }
  if (
    row.state === "claimed" && row.claimed_by === p.caller &&
    Number(row.lease_expires_at) > p.now
  ) return;
  throw new LeaseLostError(`Caller holds no live lease on intent "${p.id}"`);
}

/**
 * Throws unless a live intent may be cancelled: it must exist and not be fulfilled.
 *
 * @param id The intent. @param state The live row's state, or null when none.
 * @param dead Whether the dead-letter table holds it.
 */
export function checkCancel(id: string, state: unknown, dead: boolean): void {
  if (state === null) {
    if (dead) {
      throw new ConflictError(
        `Intent is already dead: "${id}"`,
        "invalid_state",
      );
    }
    throw new NotFoundError(`Intent not found: "${id}"`);
  }
  if (state === "fulfilled") {
    throw new ConflictError(`Intent is fulfilled: "${id}"`, "invalid_state");
  }
}

/**
 * Throws unless a dead intent may be restored: the dead-letter table must hold it.
 *
 * @param id The intent. @param dead Whether it is dead. @param live Whether it is live.
 */
export function checkRestore(id: string, dead: boolean, live: boolean): void {
  if (dead) return;
  if (live) {
    throw new ConflictError(`Intent is not dead: "${id}"`, "invalid_state");
  }
  throw new NotFoundError(`Intent not found: "${id}"`);
}

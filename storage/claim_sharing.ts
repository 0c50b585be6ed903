/**
 * What both stores need to serve several claims with one statement: which
 * claims may share one (the same filters, lease and time), how many intents
 * one statement may take, and how its rows are shared out, first come first
 * served.
 *
 * @example
 * ```ts
 * import { shareOut } from "./claim_sharing.ts";
 *
 * console.log(shareOut(["a", "b", "c"], [1, 5])); // [ [ "a" ], [ "b", "c" ] ]
 * ```
 *
 * @module
 */

import type { IntentClaimParams } from "./storage.ts";

/** Most intents one shared claim statement takes (the batch claim limit). */
export const CLAIM_GROUP_MAX = 100;

/**
 * Claims with the same key may share one statement.
 *
 * @param p A claim.
 * @returns Its filters, lease and time as one string.
 */
export function claimGroupKey(p: IntentClaimParams): string {
  return JSON.stringify([
    p.namespace,
    p.goal,
    p.caller,
    p.master,
    p.publisher,
    p.workerId,
    p.capabilities,
    p.leaseMs,
    p.now,
  ]);
}

/**
 * Shares a statement's rows, in claim order, among the claims it served.
 *
 * @param rows The rows, in claim order.
 * @param maxes Each claim's `max`, in the order the claims came.
 * @returns Each claim's share.
 */
export function shareOut<T>(rows: T[], maxes: number[]): T[][] {
  let at = 0;
  return maxes.map((n) => rows.slice(at, at += n));
}

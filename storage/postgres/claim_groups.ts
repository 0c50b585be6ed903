/**
 * Claims with the same filters made in one turn of the event loop, served
 * by one statement: `CLAIM … LIMIT <sum of their max>` is one round trip
 * instead of one each, and its rows are handed out in claim order, first
 * come first served, each claim getting at most its own `max`. The SQLite
 * store groups its claims the same way (`SqliteStore.#claimGroup`).
 *
 * @example
 * ```ts
 * import { ClaimGroups } from "./claim_groups.ts";
 * import type { ClaimedIntent } from "../../core/intent.ts";
 *
 * const queue = ["a", "b", "c"].map((id) => ({ id }) as ClaimedIntent);
 * const groups = new ClaimGroups((_p, total) =>
 *   Promise.resolve(queue.splice(0, total))
 * );
 * const p = {
 *   namespace: "default", goal: "g", caller: "k", master: true,
 *   publisher: null, workerId: null, capabilities: [], leaseMs: 60_000,
 *   now: 0,
 * };
 * const [x, y] = await Promise.all([
 *   groups.add({ ...p, max: 1 }),
 *   groups.add({ ...p, max: 5 }),
 * ]);
 * console.log(x.map((i) => i.id), y.map((i) => i.id)); // [ "a" ] [ "b", "c" ]
 * ```
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { ClaimedIntent } from "../../core/intent.ts";
import type { IntentClaimParams } from "../storage.ts";
import { CLAIM_GROUP_MAX, claimGroupKey, shareOut } from "../claim_sharing.ts";

interface Group {
  total: number;
  maxes: number[];
  done: Promise<ClaimedIntent[][]>;
}

/** See the module doc. */
export class ClaimGroups {
  #open = new Map<string, Group>();

  /**
   * @param run Claims up to `total` intents with the filters of `p`, in
   *   claim order.
   */
  constructor(
    private readonly run: (
      p: IntentClaimParams,
      total: number,
    ) => Promise<ClaimedIntent[]>,
  ) {}

  /**
   * Claims up to `p.max` intents, together with this turn's other claims
   * that have the same filters.
   *
   * @param p The claim.
   * @returns This claim's share.
   */
  async add(p: IntentClaimParams): Promise<ClaimedIntent[]> {
    const key = claimGroupKey(p);
    const open = this.#open.get(key);
    if (open !== undefined && open.total + p.max <= CLAIM_GROUP_MAX) {
      const index = open.maxes.push(p.max) - 1;
      open.total += p.max;
      return (await open.done)[index];
    }
    const group: Group = { total: p.max, maxes: [p.max], done: null! };
    this.#open.set(key, group);
    // Claims keep joining until the event loop's next check phase: every
    // request the HTTP layer handed over in this turn has been seen by then.
    group.done = new Promise((r) => setImmediate(r)).then(async () => {
      if (this.#open.get(key) === group) this.#open.delete(key);
      return shareOut(await this.run(p, group.total), group.maxes);
    });
    return (await group.done)[0];
  }
}

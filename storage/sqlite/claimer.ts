/**
 * The claim path of the SQLite store: a claim first consults the memory of
 * goals with nothing claimable ({@linkcode EmptyGoals}), then peeks with a
 * read, and only then queues a write, which claims with the same filters
 * and time join ({@linkcode Claimer.claim}). Writes that may make an intent
 * claimable tell it so ({@linkcode Claimer.touch}).
 *
 * @module
 */

import type { ClaimedIntent } from "../../core/intent.ts";
import type { IntentClaimParams } from "../storage.ts";
import type { SqlValue } from "./connection.ts";
import { claimOrder, rowToClaimed } from "../rows.ts";
import { CLAIM_GROUP_MAX, claimGroupKey, shareOut } from "../claim_sharing.ts";
import * as SQL from "./sql.ts";
import type { WriteQueue } from "./write_queue.ts";
import { EmptyGoals } from "./empty_goals.ts";
import { mapSqliteError } from "./map_error.ts";

/** Claims served by one statement; see `Claimer.#claimGroup`. */
interface ClaimGroup {
  /** Sum of the members' `max`. */
  total: number;
  /** Each member's `max`, in arrival order. */
  maxes: number[];
  /** Each member's share, once committed. */
  done: Promise<ClaimedIntent[][]>;
}

/** Claims intents for a `SqliteStore`; see the module doc. */
export class Claimer {
  /** What is known to have nothing claimable; cleared by a reap. */
  readonly empty: EmptyGoals = new EmptyGoals();
  #groups = new Map<string, ClaimGroup>();
  #queue: WriteQueue;
  #q: SQL.Prepare;

  /**
   * Creates the claim path of one store.
   *
   * @param queue The store's write queue, which claims go through.
   * @param q The store's cached statements.
   */
  constructor(queue: WriteQueue, q: SQL.Prepare) {
    this.#queue = queue;
    this.#q = q;
  }

  /**
   * Claims up to `max` intents; see `Storage.intentClaim`.
   *
   * @param p The claim.
   * @returns What this claim got, in claim order.
   */
  claim(p: IntentClaimParams): Promise<ClaimedIntent[]> {
    if (!Number.isInteger(p.max) || p.max < 1) {
      return Promise.reject(new RangeError(`Invalid max: ${p.max}`));
    }
    const group = claimGroupKey(p);
    const pending = this.#groups.get(group);
    if (pending !== undefined && pending.total + p.max <= CLAIM_GROUP_MAX) {
      const index = pending.maxes.push(p.max) - 1;
      pending.total += p.max;
      return pending.done.then((all) => all[index]);
    }
    const key = `${p.namespace}\n${p.goal}`;
    const args: SqlValue[] = [
      p.namespace,
      p.goal,
      p.now,
      p.caller,
      p.master ? 1 : 0,
      p.publisher,
      p.workerId,
      JSON.stringify(p.capabilities),
    ];
    // JSON: a worker id "null" is not the absence of one.
    const filter = `${p.caller}\n${p.master}\n${JSON.stringify(p.publisher)}\n${
      JSON.stringify(p.workerId)
    }\n${args[7]}`;
    try {
      if (
        this.empty.has(key, filter) && this.empty.isEmpty(
          key,
          Number(this.#q(SQL.DATA_VERSION).get()!.data_version),
          p.now,
          filter,
        )
      ) return Promise.resolve([]);
      // A read first: an empty poll never takes the write lock. The version
      // is read in the same snapshot, so a commit by another process after
      // it changes the version and the memory below is not trusted.
      const peek = this.#q(SQL.claimPeekVersion(p.max)).all(...args);
      if (peek[0].id === null) {
        this.#rememberEmpty(key, filter, Number(peek[0].dv), p);
        return Promise.resolve([]);
      }
    } catch (err) {
      return Promise.reject(mapSqliteError(err));
    }
    return this.#claimGroup(group, p.max, args, p.now + p.leaseMs);
  }

  /**
   * Queues a claim as the first of a group: claims with the same filters
   * and time that come before the write batch runs join it without a peek
   * of their own, and one `UPDATE … LIMIT total` serves them all, handing
   * rows out in claim order, first come first served. A member joins only
   * what is already taking the write lock, so an empty poll still never
   * takes it by itself.
   */
  #claimGroup(
    key: string,
    max: number,
    args: SqlValue[],
    leaseEnd: number,
  ): Promise<ClaimedIntent[]> {
    const group: ClaimGroup = { total: max, maxes: [max], done: null! };
    this.#groups.set(key, group);
    const close = () => {
      if (this.#groups.get(key) === group) this.#groups.delete(key);
    };
    group.done = this.#queue.run(() => {
      close();
      const rows = this.#q(SQL.claimUpdate(group.total))
        .all(...args, leaseEnd).sort(claimOrder).map(rowToClaimed);
      return shareOut(rows, group.maxes);
    }, true);
    // A batch refused before it ran (busy) closes the group too, first.
    group.done.then(close, close);
    return group.done.then((all) => all[0]);
  }

  /**
   * After an empty peek: remember the goal if nothing at all is due, else
   * that nothing due is for this claim's filters.
   */
  #rememberEmpty(
    key: string,
    filter: string,
    version: number,
    p: IntentClaimParams,
  ): void {
    const due = this.#q(SQL.GOAL_DUE).get(p.namespace, p.goal, p.now);
    const next = this.#q(SQL.GOAL_NEXT).get(p.namespace, p.goal, p.now)?.next;
    const until = next === null || next === undefined ? Infinity : Number(next);
    if (!due) this.empty.remember(key, version, p.now, until);
    else {
      const caller = p.master ? null : p.caller;
      this.empty.rememberFor(key, filter, caller, version, p.now, until);
    }
  }

  /**
   * Within a write: a goal may have a newly claimable intent, visible to
   * its publisher's key alone when private and for any worker, else to all.
   *
   * @param intent The intent written, or the goal resumed.
   */
  touch(intent: {
    namespace: string;
    goal: string;
    visibility?: string;
    publisher?: string;
    targetWorker?: string | null;
    requiredCapability?: string | null;
  }): void {
    const only = intent.visibility === "private" &&
      intent.publisher !== undefined && !intent.targetWorker &&
      !intent.requiredCapability;
    this.empty.touch(`${intent.namespace}\n${intent.goal}`, {
      caller: only ? intent.publisher! : null,
    });
  }
}

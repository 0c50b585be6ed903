/**
 * The "nothing claimable" memory of the SQLite store: once a claim finds that
 * a goal has no open intent due now, later claims of that goal are answered
 * empty from memory, without SQL, until one of these happens:
 *
 * - a write through this store touches the goal (insert, fail with retry,
 *   release, retry, redrive, resume) or may touch any goal (reap,
 *   maintenance, purge): {@linkcode EmptyGoals.touch} or
 *   {@linkcode EmptyGoals.clear};
 * - the earliest future `run_at` among the goal's open intents comes;
 * - another connection commits to the file (`PRAGMA data_version` changes),
 *   so several servers on one file stay correct.
 *
 * Only "no open intent of the goal is due at all" is remembered, whatever
 * the caller's filters, so every worker of a goal shares one entry. A goal
 * with due intents this caller may not take (private, targeted, paused,
 * awaiting reap) is not remembered: each claim asks SQLite, as before.
 *
 * @example
 * ```ts
 * import { EmptyGoals } from "./empty_goals.ts";
 *
 * const empty = new EmptyGoals();
 * empty.remember("ns\ngoal", 7, 1_000, 5_000);
 * console.log(empty.isEmpty("ns\ngoal", 7, 2_000)); // true
 * console.log(empty.isEmpty("ns\ngoal", 8, 2_000)); // false: another commit
 * console.log(empty.isEmpty("ns\ngoal", 7, 5_000)); // false: one is due
 * empty.touch("ns\ngoal");
 * console.log(empty.isEmpty("ns\ngoal", 7, 2_000)); // false
 * ```
 *
 * @module
 */

interface Entry {
  /** `PRAGMA data_version` read before the query that found nothing. */
  version: number;
  /** The `now` of that query. */
  from: number;
  /** The earliest future `run_at` then, or Infinity. */
  until: number;
}

/** Most remembered goals; the memory is emptied when full. */
const MAX_GOALS = 10_000;

/** Goals known to have nothing due, keyed by `namespace\ngoal`. */
export class EmptyGoals {
  #goals = new Map<string, Entry>();

  /**
   * Whether anything is remembered of the goal (then read the version and
   * ask {@linkcode isEmpty}).
   *
   * @param key `namespace\ngoal`.
   * @returns True when an entry exists.
   */
  has(key: string): boolean {
    return this.#goals.has(key);
  }

  /**
   * Whether the goal is known to have no open intent due at `now`.
   *
   * @param key `namespace\ngoal`.
   * @param version The connection's current `PRAGMA data_version`.
   * @param now The claim's time, unix ms.
   * @returns True only when nothing can be claimable.
   */
  isEmpty(key: string, version: number, now: number): boolean {
    const e = this.#goals.get(key);
    if (e === undefined) return false;
    if (e.version === version && e.from <= now && now < e.until) return true;
    this.#goals.delete(key);
    return false;
  }

  /**
   * Remembers that a query at `now`, after reading `version`, found no open
   * intent of the goal due, and that the next one is due at `until`.
   *
   * @param key `namespace\ngoal`. @param version Read before the query.
   * @param now The query's time. @param until Next due time, or Infinity.
   */
  remember(key: string, version: number, now: number, until: number): void {
    if (this.#goals.size >= MAX_GOALS) this.#goals.clear();
    this.#goals.set(key, { version, from: now, until });
  }

  /**
   * Forgets a goal: a write may have made one of its intents claimable.
   *
   * @param key `namespace\ngoal`.
   */
  touch(key: string): void {
    this.#goals.delete(key);
  }

  /** Forgets every goal (a write that may touch any). */
  clear(): void {
    this.#goals.clear();
  }
}

/**
 * The "nothing claimable" memory of the SQLite store: once a claim finds that
 * a goal has no open intent due now, later claims of that goal are answered
 * empty from memory, without SQL, until one of these happens:
 *
 * - a write through this store touches the goal (insert, fail with retry,
 *   release, retry, redrive, resume) or may touch any goal (a reap that put
 *   leases back): {@linkcode EmptyGoals.touch} or {@linkcode EmptyGoals.clear}
 *   (deletes, as retention and purge make, never make an intent claimable);
 * - the earliest future `run_at` among the goal's open intents comes;
 * - another connection commits to the file (`PRAGMA data_version` changes),
 *   so several servers on one file stay correct.
 *
 * "No open intent of the goal is due at all" is remembered for the goal,
 * whatever the caller's filters, so every worker of a goal shares one
 * entry. A goal with due intents this caller may not take (another key's
 * private ones, ones targeted at another worker, a paused goal) is
 * remembered for the caller's filters alone (`filter`: its key, worker id,
 * capabilities…), since finding that out walks the goal's whole backlog:
 * 200,000 intents private to one key cost each claim of another key 0.14 s
 * of the server's only thread. A write that makes an intent claimable
 * forgets the goal's entry and the filters' entries that intent may be
 * visible to: an intent private to one key and for no particular worker or
 * capability only that key's, any other all of them.
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

/** Who a newly claimable intent may be visible to. */
export interface Audience {
  /** Set: only claims by this key (hash) can take it; null: anyone's may. */
  caller: string | null;
}

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

/** An entry for one claim filter of a goal. */
interface FilterEntry extends Entry {
  /** The filter's key (hash), or null for the master key, which sees all. */
  caller: string | null;
}

/** Goals known to have nothing due, keyed by `namespace\ngoal`. */
export class EmptyGoals {
  #goals = new Map<string, Entry>();
  /** Per goal, its claim filters that found nothing they may take. */
  #filters = new Map<string, Map<string, FilterEntry>>();
  #filterCount = 0;

  /**
   * Whether anything is remembered of the goal (then read the version and
   * ask {@linkcode isEmpty}).
   *
   * @param key `namespace\ngoal`.
   * @param filter The claim's filter key, to ask about its own entry too.
   * @returns True when an entry exists.
   */
  has(key: string, filter?: string): boolean {
    return this.#goals.has(key) ||
      (filter !== undefined && this.#filters.get(key)?.has(filter) === true);
  }

  /**
   * Whether the goal is known to have no open intent due at `now`.
   *
   * @param key `namespace\ngoal`.
   * @param version The connection's current `PRAGMA data_version`.
   * @param now The claim's time, unix ms.
   * @param filter The claim's filter key: true also when nothing this
   * filter may take is due.
   * @returns True only when nothing can be claimable.
   */
  isEmpty(
    key: string,
    version: number,
    now: number,
    filter?: string,
  ): boolean {
    const e = this.#goals.get(key);
    if (e !== undefined) {
      if (e.version === version && e.from <= now && now < e.until) return true;
      this.#goals.delete(key);
    }
    if (filter === undefined) return false;
    const filters = this.#filters.get(key);
    const f = filters?.get(filter);
    if (f === undefined) return false;
    if (f.version === version && f.from <= now && now < f.until) return true;
    filters!.delete(filter);
    this.#filterCount--;
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
   * Remembers that a query at `now`, after reading `version`, found nothing
   * that claims with `filter` may take, though the goal has due intents;
   * the goal's next intent is due at `until`.
   *
   * @param key `namespace\ngoal`. @param filter The claim's filter key.
   * @param caller The claiming key (hash), or null for the master key.
   * @param version Read before the query.
   * @param now The query's time. @param until Next due time, or Infinity.
   */
  rememberFor(
    key: string,
    filter: string,
    caller: string | null,
    version: number,
    now: number,
    until: number,
  ): void {
    if (this.#filterCount >= MAX_GOALS) {
      this.#filters.clear();
      this.#filterCount = 0;
    }
    let filters = this.#filters.get(key);
    if (filters === undefined) this.#filters.set(key, filters = new Map());
    if (!filters.has(filter)) this.#filterCount++;
    filters.set(filter, { version, from: now, until, caller });
  }

  /**
   * Forgets a goal, and its filters' entries that a newly claimable intent
   * may be visible to: a write may have made one of its intents claimable.
   *
   * @param key `namespace\ngoal`.
   * @param audience Who the intent may be visible to; everyone when omitted.
   */
  touch(key: string, audience?: Audience): void {
    this.#goals.delete(key);
    const filters = this.#filters.get(key);
    if (filters === undefined) return;
    const only = audience?.caller ?? null;
    if (only === null) {
      this.#filterCount -= filters.size;
      this.#filters.delete(key);
      return;
    }
    for (const [filter, f] of filters) {
      if (f.caller !== null && f.caller !== only) continue;
      filters.delete(filter);
      this.#filterCount--;
    }
    if (filters.size === 0) this.#filters.delete(key);
  }

  /** Forgets every goal (a write that may touch any). */
  clear(): void {
    this.#goals.clear();
    this.#filters.clear();
    this.#filterCount = 0;
  }
}

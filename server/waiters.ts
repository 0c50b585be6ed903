/**
 * Long-poll wake-ups: a claim that found nothing waits here until a publish
 * (or release, or retry) touches its goal, in this process or in another
 * server sharing its database (`Storage.watchGoals`), a re-check period
 * passes (delayed intents and reaped leases become due without any event),
 * its deadline comes, the client goes away, or the server shuts down.
 *
 * @example
 * ```ts
 * import { Waiters } from "./waiters.ts";
 *
 * const w = new Waiters();
 * const woke = w.wait("ns\ngoal", 10_000);
 * w.notify("ns\ngoal");
 * console.log(await woke > 0); // true
 * ```
 *
 * @module
 */

/** The key of a goal: namespace and goal joined by a newline. */
export function goalKey(namespace: string, goal: string): string {
  return `${namespace}\n${goal}`;
}

/** One waiting claim. */
interface Sleeper {
  wake(notice: number): void;
  /** Notices sent before it fell asleep. */
  since: number;
}

/** Sleepers keyed by goal. */
export class Waiters {
  #sleepers = new Map<string, Set<Sleeper>>();
  #closed = false;
  #all = new Set<() => void>();
  /** Notices sent so far; each {@linkcode Waiters.notify} numbers one. */
  #notices = 0;

  /**
   * Sleeps until notified, `ms` elapses, or `signal` aborts.
   *
   * @param key From {@linkcode goalKey}.
   * @param ms Longest sleep.
   * @param signal Ends the sleep early (client gone).
   * @returns The number of the notice that woke it (always above 0), or 0
   *   when it was not woken by one: pass the number to
   *   {@linkcode Waiters.passOn} if the sleeper cannot use what it was woken
   *   for.
   */
  wait(key: string, ms: number, signal?: AbortSignal): Promise<number> {
    if (this.#closed || signal?.aborted || ms <= 0) {
      return Promise.resolve(0);
    }
    return new Promise((resolve) => {
      let set = this.#sleepers.get(key);
      if (!set) this.#sleepers.set(key, set = new Set());
      const done = (notice: number) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        set!.delete(sleeper);
        this.#all.delete(stop);
        if (set!.size === 0 && this.#sleepers.get(key) === set) {
          this.#sleepers.delete(key);
        }
        resolve(notice);
      };
      const sleeper: Sleeper = { wake: done, since: this.#notices };
      const stop = () => done(0);
      const onAbort = () => done(0);
      const timer = setTimeout(stop, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
      set.add(sleeper);
      this.#all.add(stop);
    });
  }

  /**
   * Wakes the longest sleeper of a goal: one new intent needs one claimer,
   * and waking them all would send every poller to the database at once.
   *
   * @param key From {@linkcode goalKey}.
   */
  notify(key: string): void {
    const notice = ++this.#notices;
    const set = this.#sleepers.get(key);
    if (set) { for (const sleeper of set) return sleeper.wake(notice); }
  }

  /**
   * A sleeper woken by `notice` could not claim what it was woken for (the
   * intent is private to another key, or meant for another worker or
   * capability): wake the next one that was already asleep when the notice
   * was sent. Each such sleeper is tried once, so the notice ends with
   * the last of them and never circles back to a sleeper that gave it up.
   *
   * @param key From {@linkcode goalKey}.
   * @param notice What {@linkcode Waiters.wait} returned.
   */
  passOn(key: string, notice: number): void {
    const set = this.#sleepers.get(key);
    if (!set) return;
    for (const sleeper of set) {
      if (sleeper.since < notice) return sleeper.wake(notice);
    }
  }

  /**
   * Wakes every sleeper of a goal (a resume, or a redrive of many intents).
   *
   * @param key From {@linkcode goalKey}.
   */
  notifyAll(key: string): void {
    const notice = ++this.#notices;
    const set = this.#sleepers.get(key);
    if (set) { for (const sleeper of [...set]) sleeper.wake(notice); }
  }

  /** Wakes everyone and refuses new sleeps: the server is shutting down. */
  close(): void {
    this.#closed = true;
    for (const stop of [...this.#all]) stop();
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }
}

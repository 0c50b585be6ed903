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
 * console.log(await woke); // true
 * ```
 *
 * @module
 */

/** The key of a goal: namespace and goal joined by a newline. */
export function goalKey(namespace: string, goal: string): string {
  return `${namespace}\n${goal}`;
}

/** Sleepers keyed by goal. */
export class Waiters {
  #sleepers = new Map<string, Set<() => void>>();
  #closed = false;
  #all = new Set<() => void>();

  /**
   * Sleeps until notified, `ms` elapses, or `signal` aborts.
   *
   * @param key From {@linkcode goalKey}.
   * @param ms Longest sleep.
   * @param signal Ends the sleep early (client gone).
   * @returns True when woken by a notify, false otherwise.
   */
  wait(key: string, ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#closed || signal?.aborted || ms <= 0) {
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      let set = this.#sleepers.get(key);
      if (!set) this.#sleepers.set(key, set = new Set());
      const done = (woken: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        set!.delete(wake);
        this.#all.delete(stop);
        if (set!.size === 0 && this.#sleepers.get(key) === set) {
          this.#sleepers.delete(key);
        }
        resolve(woken);
      };
      const wake = () => done(true);
      const stop = () => done(false);
      const onAbort = () => done(false);
      const timer = setTimeout(stop, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
      set.add(wake);
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
    const set = this.#sleepers.get(key);
    if (set) { for (const wake of set) return wake(); }
  }

  /**
   * Wakes every sleeper of a goal (a resume, or a redrive of many intents).
   *
   * @param key From {@linkcode goalKey}.
   */
  notifyAll(key: string): void {
    const set = this.#sleepers.get(key);
    if (set) { for (const wake of [...set]) wake(); }
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

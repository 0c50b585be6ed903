/**
 * The maintenance service: reaps expired leases every second and prunes what
 * retention allows (finished intents, nonces, idempotency keys, KV) every
 * minute, on timers, never inside a user's request. `runOnce()` does both
 * now, for tests and `POST /admin/cleanup`.
 *
 * @example
 * ```ts
 * import { Maintenance } from "./maintenance.ts";
 * import { ManualClock } from "../core/clock.ts";
 * import { openSqliteStore } from "../storage/sqlite/mod.ts";
 *
 * const store = await openSqliteStore({ path: ":memory:" });
 * const m = new Maintenance({ store, clock: new ManualClock(), retentionMs: 86_400_000 });
 * const done = await m.runOnce();
 * console.log(done.reap.retried, done.pruned.nonces); // 0 0
 * await store.close();
 * ```
 *
 * @module
 */

import type { Clock } from "../core/clock.ts";
import type {
  LeaseReapResult,
  MaintenanceResult,
  Storage,
} from "../storage/storage.ts";
import { DEFAULT_CONFIG } from "./config.ts";
import { type Logger, silentLogger } from "./log.ts";

/** Options of {@linkcode Maintenance}. */
export interface MaintenanceOptions {
  /** The store to reap and prune. */
  store: Storage;
  /** The source of `now` for each run. */
  clock: Clock;
  /**
   * How long finished intents and idempotency keys are kept, ms; default
   * {@linkcode DEFAULT_CONFIG}'s (7 days), as `BUS_RETENTION_DAYS`.
   */
  retentionMs?: number;
  /** Where reap and prune counts (debug) and failures go; default silent. */
  log?: Logger;
  /** Jitter source in [0, 1); default `Math.random`. */
  random?: () => number;
  /** Reap period; default 1 s. */
  reapEveryMs?: number;
  /** Prune period; default 60 s. */
  pruneEveryMs?: number;
  /**
   * Rows of each table a prune deletes per store call, default 500: a long
   * backlog goes in short transactions, with other requests between them
   * (SQLite runs on the server's one thread: 2,000 held it for up to 0.9 s
   * on this 2-core VM), and no statement nears PostgreSQL's timeout.
   */
  pruneChunk?: number;
  /**
   * Rows of each reap step per store call, default 250, as `pruneChunk`:
   * moving a row to the dead-letter table costs SQLite 100–250 µs with a
   * large file, so a chunk holds the thread for about 50–150 ms.
   */
  reapChunk?: number;
}

/** What one full run did. */
export interface MaintenanceRun {
  /** What the reap did. */
  reap: LeaseReapResult;
  /** What the prune deleted. */
  pruned: MaintenanceResult;
}

/** Reaping and pruning on timers. */
export class Maintenance {
  #o: MaintenanceOptions & { retentionMs: number };
  #log: Logger;
  #timers: ReturnType<typeof setInterval>[] = [];
  #running: Promise<unknown> = Promise.resolve();

  /**
   * Creates the service; nothing runs until {@linkcode Maintenance.start}.
   *
   * @param options Store, clock, retention and periods.
   * @throws {RangeError} when `retentionMs` is not a positive number: a
   *   prune would then delete every finished intent, or none.
   */
  constructor(options: MaintenanceOptions) {
    const retentionMs = options.retentionMs ?? DEFAULT_CONFIG.retentionMs;
    if (!(retentionMs > 0) || !Number.isFinite(retentionMs)) {
      throw new RangeError(`Invalid retentionMs: ${options.retentionMs}`);
    }
    this.#o = { ...options, retentionMs };
    this.#log = options.log ?? silentLogger;
  }

  /** Serialises runs, so a slow prune never overlaps a reap. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#running.then(fn, fn);
    this.#running = next.catch(() => {});
    return next;
  }

  /**
   * Reaps expired leases now.
   *
   * @returns How many went back to open and how many died.
   */
  reap(): Promise<LeaseReapResult> {
    return this.#serial(async () => {
      // In chunks, each its own write: a backlog that expired at once (a
      // day-old burst nobody claimed, a fleet of workers gone) would
      // otherwise be one transaction holding the store for seconds.
      const limit = this.#o.reapChunk ?? 250;
      const total: LeaseReapResult = { retried: 0, dead: 0 };
      for (;;) {
        const r = await this.#o.store.leaseReap({
          now: this.#o.clock.now(),
          jitter: (this.#o.random ?? Math.random)(),
          limit,
        });
        total.retried += r.retried;
        total.dead += r.dead;
        if (r.retried < limit && r.dead < limit) return total;
      }
    });
  }

  /**
   * Prunes what retention allows now.
   *
   * @returns What was deleted.
   */
  prune(): Promise<MaintenanceResult> {
    return this.#serial(async () => {
      const limit = this.#o.pruneChunk ?? 500;
      const now = this.#o.clock.now();
      const total: MaintenanceResult = {
        intents: 0,
        dead: 0,
        nonces: 0,
        idempotencyKeys: 0,
        kv: 0,
      };
      for (;;) {
        const r = await this.#o.store.maintenanceRun({
          now,
          retentionMs: this.#o.retentionMs,
          limit,
        });
        let more = false;
        for (const k of Object.keys(total) as (keyof MaintenanceResult)[]) {
          total[k] += r[k];
          if (r[k] >= limit) more = true;
        }
        if (!more) return total;
      }
    });
  }

  /**
   * Reaps, then prunes.
   *
   * @returns Both results.
   */
  async runOnce(): Promise<MaintenanceRun> {
    const reap = await this.reap();
    const pruned = await this.prune();
    return { reap, pruned };
  }

  /** Starts the timers; calling it twice does nothing more. */
  start(): void {
    if (this.#timers.length > 0) return;
    // A tick finds the previous one of its kind still running (a database
    // that stopped answering takes the store's timeout to fail): it skips,
    // rather than queue a run a second behind it for as long as that lasts.
    const tick = (what: string, fn: () => Promise<unknown>) => {
      let busy = false;
      return () => {
        if (busy) return;
        busy = true;
        fn().then(
          (r) => {
            if (r && Object.values(r).some((n) => n !== 0)) {
              this.#log.debug(what, r as Record<string, unknown>);
            }
          },
          (err) => this.#log.warn(`${what} failed`, { err }),
        ).finally(() => busy = false);
      };
    };
    this.#timers.push(
      setInterval(tick("reap", () => this.reap()), this.#o.reapEveryMs ?? 1000),
      setInterval(
        tick("prune", () => this.prune()),
        this.#o.pruneEveryMs ?? 60_000,
      ),
    );
  }

  /** Stops the timers and waits for a run in progress. */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#running;
  }
}

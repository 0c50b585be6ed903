/**
 * Group commit: write operations requested in the same event-loop iteration
 * (flushed by `setImmediate`) run together in one `BEGIN IMMEDIATE …
 * COMMIT`, each inside its own savepoint so one failing operation does not
 * undo the others. An operation of one statement (a claim) needs no
 * savepoint: SQLite undoes a failed statement by itself. Should one fail in
 * a way that ends the whole transaction, the batch is rolled back and run
 * again with a savepoint around every operation. Each promise settles
 * only after `COMMIT`, so an acknowledged write is durable.
 *
 * One transaction per batch instead of one per operation is where SQLite's
 * speed is (`shared/MEASURED.md`, beside the checkout: about 4.2k lifecycles/s against 30k/s).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { WriteGate } from "./checkpointer.ts";
import {
  type Connection,
  SQLITE_BUSY,
  SQLITE_LOCKED,
  SqliteError,
  type Statement,
} from "./connection.ts";

interface Job {
  // Each job has its own result type; `run<T>` keeps the caller's typed,
  // and one queue holds jobs of every type.
  // deno-lint-ignore no-explicit-any
  fn: () => any;
  // deno-lint-ignore no-explicit-any
  resolve: (value: any) => void;
  reject: (err: unknown) => void;
  /** One statement: atomic without a savepoint. */
  single: boolean;
  /** When it was queued (`performance.now()`), for `busyWaitMs`. */
  since: number;
}

/** A one-statement job failed: redo the batch with savepoints. */
class RetrySafely {
  constructor(readonly cause: unknown) {}
}

/** `BEGIN` failed: the batch never started. */
class NotBegun {
  constructor(readonly cause: unknown) {}
}

/** How a {@linkcode WriteQueue} waits for another process's write lock. */
export interface WriteQueueOptions {
  /**
   * How long a write may wait for a write lock another process holds, ms;
   * 0 (the default) refuses it at once. The queue waits on timers, trying
   * again every few ms, so the event loop goes on serving meanwhile; give
   * the connection a `busy_timeout` of 0 so that no try blocks it.
   */
  busyWaitMs?: number;
}

/** Longest sleep between two tries for a busy write lock, ms. */
const BUSY_RETRY_MAX_MS = 50;

function isBusy(err: unknown): boolean {
  return err instanceof SqliteError &&
    (err.code === SQLITE_BUSY || err.code === SQLITE_LOCKED);
}

/**
 * Serialises synchronous write operations into batched transactions. It is
 * also a {@linkcode WriteGate}: while paused (the WAL rewinding), writes
 * queue up and run in one batch on `resume()`.
 */
export class WriteQueue implements WriteGate {
  #pending: Job[] = [];
  #scheduled = false;
  #closed = false;
  #paused = false;
  /** Called after each committed batch (the checkpointer listens). */
  onCommit: (() => void) | null = null;
  #begin: Statement;
  #commit: Statement;
  #rollback: Statement;
  #savepoint: Statement;
  #release: Statement;
  #rollbackTo: Statement;
  #mapError: (err: unknown) => unknown;
  #busyWaitMs: number;
  /** Consecutive busy tries, for the back-off; 0 when not waiting. */
  #busyTries = 0;
  /**
   * The next try for the lock, while one is planned: until it runs, writes
   * queue up behind it. A pause may keep it from running them (its flush
   * returns at once); `resume()` then schedules them as usual.
   */
  #busyTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param db The connection to write through.
   * @param mapError Turns driver errors (busy, constraint) into domain errors.
   * @param options See {@linkcode WriteQueueOptions}.
   */
  constructor(
    db: Connection,
    mapError: (err: unknown) => unknown,
    options: WriteQueueOptions = {},
  ) {
    this.#busyWaitMs = options.busyWaitMs ?? 0;
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#commit = db.prepare("COMMIT");
    this.#rollback = db.prepare("ROLLBACK");
    this.#savepoint = db.prepare("SAVEPOINT op");
    this.#release = db.prepare("RELEASE op");
    this.#rollbackTo = db.prepare("ROLLBACK TO op");
    this.#mapError = mapError;
  }

  /**
   * Queues a write; it runs in the next batch.
   *
   * @param fn Synchronous work using the connection; throwing undoes only it.
   * @param single `fn` runs exactly one statement (or throws before it):
   *   SQLite makes it atomic, so it skips the savepoint.
   * @returns What `fn` returned, once the batch committed.
   */
  run<T>(fn: () => T, single = false): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new Error("Store is closed"));
    }
    return new Promise<T>((resolve, reject) => {
      const since = this.#busyWaitMs > 0 ? performance.now() : 0;
      this.#pending.push({ fn, resolve, reject, single, since });
      this.#schedule();
    });
  }

  /** Runs the queued writes in a coming batch, unless paused or planned. */
  #schedule(): void {
    if (
      this.#scheduled || this.#paused || this.#busyTimer !== undefined ||
      this.#pending.length === 0
    ) return;
    this.#scheduled = true;
    // After this turn's I/O callbacks, not at its microtask checkpoint: the
    // HTTP handlers of one loop iteration then share one commit. Measured
    // with wrk, 50 connections, one insert per request: 5.0k req/s against
    // 1.5k with queueMicrotask.
    setImmediate(() => this.flush());
  }

  /** Holds queued writes until {@linkcode WriteQueue.resume}. */
  pause(): void {
    this.#paused = true;
  }

  /** Runs what queued while paused, in the next batch. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#schedule();
  }

  /**
   * Runs every queued write now, in one transaction.
   *
   * @param force Run even while paused (closing).
   */
  flush(force = false): void {
    this.#scheduled = false;
    if (this.#paused && !force) return;
    const jobs = this.#pending;
    this.#pending = [];
    if (jobs.length === 0) return;
    let outcomes: { ok: boolean; value: unknown }[];
    try {
      try {
        outcomes = this.#runBatch(jobs, false);
      } catch (err) {
        if (!(err instanceof RetrySafely)) throw err;
        // A one-statement job failed and may have ended the transaction:
        // nothing is committed, so run the batch again, every job guarded.
        this.#safeRollback();
        outcomes = this.#runBatch(jobs, true);
      }
    } catch (err) {
      if (err instanceof NotBegun && isBusy(err.cause) && !force) {
        this.#waitForLock(jobs, err.cause);
        return;
      }
      // BEGIN or COMMIT failed (busy, disk full): nothing of the batch stands.
      this.#safeRollback();
      this.#busyTries = 0;
      const mapped = this.#mapError(err instanceof NotBegun ? err.cause : err);
      for (const job of jobs) job.reject(mapped);
      this.#schedule();
      return;
    }
    this.#busyTries = 0;
    this.onCommit?.();
    jobs.forEach((job, i) => {
      const o = outcomes[i];
      if (o.ok) job.resolve(o.value);
      else job.reject(o.value);
    });
    this.#schedule();
  }

  /**
   * Another process holds the write lock: refuse the jobs that have waited
   * `busyWaitMs`, and try the others again after a sleep that doubles from
   * 1 ms to {@linkcode BUSY_RETRY_MAX_MS}, with the writes queued meanwhile.
   */
  #waitForLock(jobs: Job[], cause: unknown): void {
    const now = performance.now();
    const late = jobs.filter((j) => now - j.since >= this.#busyWaitMs);
    if (late.length > 0) {
      const mapped = this.#mapError(cause);
      for (const job of late) job.reject(mapped);
    }
    const waiting = late.length === 0
      ? jobs
      : jobs.filter((j) => now - j.since < this.#busyWaitMs);
    this.#pending = waiting.concat(this.#pending);
    if (this.#pending.length === 0) {
      this.#busyTries = 0;
      return;
    }
    const delay = Math.min(2 ** this.#busyTries, BUSY_RETRY_MAX_MS);
    this.#busyTries++;
    this.#busyTimer = setTimeout(() => {
      this.#busyTimer = undefined;
      this.flush();
    }, delay);
  }

  #runBatch(jobs: Job[], guarded: boolean): { ok: boolean; value: unknown }[] {
    try {
      this.#begin.run();
    } catch (err) {
      throw new NotBegun(err);
    }
    // A lone job needs no savepoint: its failure rolls back the transaction.
    if (jobs.length === 1) {
      try {
        const value = jobs[0].fn();
        this.#commit.run();
        return [{ ok: true, value }];
      } catch (err) {
        this.#safeRollback();
        return [{ ok: false, value: this.#mapError(err) }];
      }
    }
    const outcomes: { ok: boolean; value: unknown }[] = [];
    for (const job of jobs) {
      if (job.single && !guarded) {
        try {
          outcomes.push({ ok: true, value: job.fn() });
        } catch (err) {
          throw new RetrySafely(err);
        }
        continue;
      }
      this.#savepoint.run();
      try {
        const value = job.fn();
        this.#release.run();
        outcomes.push({ ok: true, value });
      } catch (err) {
        try {
          this.#rollbackTo.run();
          this.#release.run();
        } catch {
          // The job's error ended the transaction (a full disk): nothing of
          // the batch stands, and that error is why.
          throw err;
        }
        outcomes.push({ ok: false, value: this.#mapError(err) });
      }
    }
    this.#commit.run();
    return outcomes;
  }

  /** Flushes what is queued and refuses further writes. */
  close(): void {
    clearTimeout(this.#busyTimer);
    this.#busyTimer = undefined;
    this.#busyTries = 0;
    this.flush(true);
    this.#closed = true;
  }

  #safeRollback(): void {
    try {
      this.#rollback.run();
    } catch {
      // No transaction left to roll back: SQLite already ended it.
    }
  }
}

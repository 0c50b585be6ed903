/**
 * WAL checkpoints on a thread of their own. SQLite's automatic checkpoint
 * runs inside the `COMMIT` that crosses 1,000 WAL pages, on the thread that
 * commits: on our 2-core VM a one-insert commit cost 148 µs with it and 54
 * µs without (its two fsyncs, amortised), and each checkpoint stalled the
 * event loop for milliseconds (bench/RESULTS.md, "What session 2 changed").
 * The store instead turns the automatic checkpoint off and keeps a
 * {@linkcode Checkpointer}:
 *
 * - after commits, a worker thread (`checkpoint_worker.ts`, with its own
 *   connection) copies the new frames into the database with a passive
 *   checkpoint, which takes no lock a writer needs, at most every 100 ms;
 * - SQLite rewinds the WAL to its start only when a writer begins while
 *   every frame is copied, which a busy writer never lets happen. So once
 *   the WAL holds `restartFrames` frames, the store's writes pause (reads
 *   and HTTP go on) for one more pass; the next batch then rewinds the WAL.
 *   Writes wait a few ms there instead of the event loop stalling.
 * - The store learns the WAL's size after its commits from the file's size
 *   (a `stat` at most every 2 ms), which `journal_size_limit` (set to
 *   {@linkcode Checkpointer.journalSizeLimit}) cuts back at each rewind. Past
 *   `restartFrames` the next pass starts at once; past twice that, a pass
 *   is slower than the writes (a slow or busy disk), and writes wait for the
 *   thread however long it takes. So the WAL stays under about twice
 *   `restartFrames` (32 MB) however slow the disk, where passes that ran
 *   only at their interval let it reach 91 MB beside a disk busy with
 *   fsyncs.
 *
 * The thread is a `node:worker_threads` worker (`checkpoint_thread.ts`
 * starts it and carries the requests), so this runs on Deno and on Node (the
 * npm build, Termux) alike.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from "./open.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const store = await openSqliteStore({
 *   path: `${dir}/bus.db`,
 *   checkpoint: "thread",
 * });
 * console.log(store.checkpoints?.restarts); // 0: nothing written yet
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { statSync } from "node:fs";
import { CheckpointThread, type PassReply } from "./checkpoint_thread.ts";

/** What the checkpointer pauses: the store's write queue. */
export interface WriteGate {
  /** Queue writes without running them. */
  pause(): void;
  /** Run what was queued, and writes from now on. */
  resume(): void;
}

/** How to start a {@linkcode Checkpointer}. */
export interface CheckpointerOptions {
  /** The database file (not `:memory:`). */
  path: string;
  /** The driver the worker opens it with (a key of `DRIVERS`). */
  driver: string;
  /** `NORMAL` or `FULL`: the fsyncs a checkpoint makes. */
  synchronous: "NORMAL" | "FULL";
  /**
   * WAL frames at which writes pause so the WAL can rewind; default 4000
   * (16 MB of 4 KiB pages). Each pause holds writes for one pass, 6–12 ms
   * here; at 1,000 frames Heavy paused twice a second, 2.4% of the time,
   * against 0.8% at 4,000, which gave 5–7% more intents/s (bench/RESULTS.md).
   */
  restartFrames?: number;
  /**
   * Longest a pause at `restartFrames` lasts, in ms, should the worker be
   * slow; default 500; 0 gives up at once. Writes then go on until twice
   * `restartFrames`, where they wait for the worker without a limit.
   */
  maxPauseMs?: number;
  /**
   * Least time between two passes, in ms; default 100. Each pass that copies
   * anything makes two fsyncs, so passes are spaced, not run per commit.
   */
  intervalMs?: number;
}

/** What the checkpointer has done (`SqliteStore.checkpoints`). */
export interface CheckpointStats {
  /** Passive checkpoints run. */
  passes: number;
  /** Pauses that ended with every frame copied, so the WAL rewinds. */
  restarts: number;
  /** Pauses that ended without (busy, or the worker too slow). */
  missed: number;
  /** WAL frames at the last pass. */
  walFrames: number;
  /** Most WAL frames any pass saw. */
  peakWalFrames: number;
  /** Pauses that began because writes had outrun the passes. */
  stalls: number;
  /**
   * Passes that failed with the thread still alive (a full disk, an I/O
   * error); each is tried again after {@linkcode FAILED_PASS_RETRY_MS}.
   */
  errors: number;
  /** The last failed pass's message, or null if none failed. */
  lastError: string | null;
}

/**
 * How long after a failed pass the next one is tried, ms: a full disk does
 * not empty in 100 ms, and each try costs a read of the WAL.
 */
export const FAILED_PASS_RETRY_MS = 1000;

/** Least time between two looks at the WAL file's size, ms. */
const CHECK_EVERY_MS = 2;

/** Runs passive checkpoints on a worker thread; see the module doc. */
export class Checkpointer {
  readonly #thread: CheckpointThread;
  readonly #walPath: string;
  readonly #restartFrames: number;
  readonly #maxPauseMs: number;
  readonly #intervalMs: number;
  #gate: WriteGate | null = null;
  #dirty = false;
  #running: Promise<void> | null = null;
  #closed = false;
  #pageSize = 4096;
  /** WAL frames at which the next pass starts early, then pauses writes. */
  #nextPauseAt: number;
  /** WAL frames at which writes wait for the worker, however long. */
  #stallAt: number;
  /** Writes held by this checkpointer. */
  #paused = false;
  /** The next pass should not wait for its interval. */
  #hurry = false;
  #lastCheck = -Infinity;
  #failed: ((err: Error) => void) | null = null;
  /** Ends the sleep between passes early (closing). */
  #wake: () => void = () => {};
  readonly #stats: CheckpointStats = {
    passes: 0,
    restarts: 0,
    missed: 0,
    walFrames: 0,
    peakWalFrames: 0,
    stalls: 0,
    errors: 0,
    lastError: null,
  };

  private constructor(options: CheckpointerOptions) {
    this.#thread = new CheckpointThread((err) => this.#fail(err));
    this.#walPath = `${options.path}-wal`;
    this.#restartFrames = options.restartFrames ?? 4000;
    this.#maxPauseMs = options.maxPauseMs ?? 500;
    this.#intervalMs = options.intervalMs ?? 100;
    this.#nextPauseAt = this.#restartFrames;
    this.#stallAt = 2 * this.#restartFrames;
  }

  /**
   * Starts the worker and opens its connection.
   *
   * @param options The file, driver and thresholds.
   * @returns A running checkpointer, not yet attached to a store.
   * @throws {Error} when the worker cannot open the file.
   */
  static async start(options: CheckpointerOptions): Promise<Checkpointer> {
    const c = new Checkpointer(options);
    try {
      c.#pageSize = await c.#thread.open(options);
    } catch (err) {
      await c.#thread.terminate();
      throw err;
    }
    return c;
  }

  /**
   * What the store's connection must set as `PRAGMA journal_size_limit`, in
   * bytes: `restartFrames` frames. SQLite then cuts the WAL file back to it
   * at each rewind, so the file's size tells how far the WAL has grown.
   */
  get journalSizeLimit(): number {
    return this.#frameBytes(this.#restartFrames);
  }

  /** Counters so far (a copy). */
  get stats(): CheckpointStats {
    return { ...this.#stats };
  }

  /**
   * Lets the checkpointer pause these writes while the WAL rewinds.
   *
   * @param gate The store's write queue.
   * @param onFailure Called once if the worker dies: the store should turn
   *   SQLite's automatic checkpoint back on.
   */
  attach(gate: WriteGate, onFailure: (err: Error) => void): void {
    this.#gate = gate;
    this.#failed = onFailure;
  }

  /** After each commit: frames to copy. Never throws, never waits. */
  committed(): void {
    this.#dirty = true;
    if (this.#closed) return;
    this.#checkWal();
    if (this.#running === null) {
      this.#running = this.#loop().finally(() => this.#running = null);
    }
  }

  /** Stops the worker after its pass in progress and closes its connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    await this.#running;
    await this.#thread.close();
  }

  async #loop(): Promise<void> {
    while (this.#dirty && !this.#closed) {
      this.#dirty = false;
      this.#hurry = false;
      const started = performance.now();
      let interval = this.#intervalMs;
      try {
        const r = await this.#pass();
        if (this.#paused || r.log >= this.#nextPauseAt) {
          await this.#rewind();
          // What hurried this pass is done: the WAL rewinds.
          this.#hurry = false;
        } else if (r.log < this.#restartFrames) {
          this.#rearm();
        }
      } catch (err) {
        // The thread died: `#fail` has run, and commits checkpoint inline.
        if (this.#closed) return;
        // The pass failed but the thread lives (SQLITE_FULL while the
        // database file grows): the frames are still to copy, so try again
        // later, and let held writes go on (they fail on a full disk too).
        this.#stats.errors++;
        this.#stats.lastError = err instanceof Error
          ? err.message
          : String(err);
        this.#resumeWrites();
        this.#dirty = true;
        this.#hurry = false;
        interval = FAILED_PASS_RETRY_MS;
      }
      const rest = started + interval - performance.now();
      if (rest > 0 && !this.#closed && !this.#hurry) await this.#sleep(rest);
    }
  }

  /**
   * After a commit: how far the WAL has grown since it last rewound, from
   * its file's size (see `journalSizeLimit`). Past `#nextPauseAt` the next
   * pass starts now; past `#stallAt` writes also wait for it.
   */
  #checkWal(): void {
    const now = performance.now();
    if (this.#paused || now - this.#lastCheck < CHECK_EVERY_MS) return;
    this.#lastCheck = now;
    let bytes: number;
    try {
      bytes = statSync(this.#walPath, { throwIfNoEntry: false })?.size ?? 0;
    } catch {
      return; // The next pass sees the WAL anyway.
    }
    // A rewound WAL's file is cut back to `journalSizeLimit` exactly.
    const limit = Math.min(this.#nextPauseAt, this.#stallAt);
    if (bytes <= this.#frameBytes(limit)) return;
    this.#hurry = true;
    if (bytes > this.#frameBytes(this.#stallAt)) {
      this.#stats.stalls++;
      this.#pauseWrites();
    }
    this.#wake();
  }

  /** Writes paused: one more pass, so the next batch rewinds the WAL. */
  async #rewind(): Promise<void> {
    // Held at `#stallAt` already: the worker is slower than the writes, so
    // wait for it; a pause from here gives up after `#maxPauseMs`.
    const stalled = this.#paused;
    this.#pauseWrites();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const late = stalled ? null : new Promise<null>((resolve) => {
        if (this.#maxPauseMs <= 0) resolve(null);
        else timer = setTimeout(() => resolve(null), this.#maxPauseMs);
      });
      const r =
        await (late ? Promise.race([this.#pass(), late]) : this.#pass());
      if (r !== null && !r.busy && r.checkpointed === r.log) {
        this.#stats.restarts++;
        this.#rearm();
      } else if (r === null) {
        // The worker is slow: try again after another `restartFrames`, but
        // writes still wait at `#stallAt`.
        this.#stats.missed++;
        this.#nextPauseAt += this.#restartFrames;
      } else {
        // Something holds an old snapshot, so the WAL cannot rewind: pause
        // again only after another `restartFrames`, not at every commit.
        this.#stats.missed++;
        this.#nextPauseAt = r.log + this.#restartFrames;
        this.#stallAt = r.log + 2 * this.#restartFrames;
      }
    } finally {
      clearTimeout(timer);
      this.#resumeWrites();
    }
  }

  #rearm(): void {
    this.#nextPauseAt = this.#restartFrames;
    this.#stallAt = 2 * this.#restartFrames;
  }

  #pauseWrites(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#gate?.pause();
  }

  #resumeWrites(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#gate?.resume();
  }

  /** The WAL file's size when it holds `frames` frames. */
  #frameBytes(frames: number): number {
    return 32 + frames * (this.#pageSize + 24);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #pass(): Promise<PassReply> {
    const r = await this.#thread.pass();
    this.#stats.passes++;
    this.#stats.walFrames = r.log;
    this.#stats.peakWalFrames = Math.max(this.#stats.peakWalFrames, r.log);
    return r;
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#thread.abort(err.message);
    this.#resumeWrites();
    this.#failed?.(err);
  }
}

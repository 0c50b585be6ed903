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
 *
 * The thread is a `node:worker_threads` worker, so this runs on Deno and on
 * Node (the npm build, Termux) alike.
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

import { Worker } from "node:worker_threads";
import type {
  CheckpointReply,
  CheckpointRequest,
} from "./checkpoint_worker.ts";

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
  /** Longest a pause lasts, in ms, should the worker be slow; default 500. */
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
}

type Pass = Extract<CheckpointReply, { type: "pass" }>;

/** Runs passive checkpoints on a worker thread; see the module doc. */
export class Checkpointer {
  readonly #worker: Worker;
  readonly #restartFrames: number;
  readonly #maxPauseMs: number;
  readonly #intervalMs: number;
  #waiting: ((reply: CheckpointReply) => void)[] = [];
  #gate: WriteGate | null = null;
  #dirty = false;
  #running: Promise<void> | null = null;
  #closed = false;
  #nextPauseAt: number;
  #failed: ((err: Error) => void) | null = null;
  /** Ends the sleep between passes early (closing). */
  #wake: () => void = () => {};
  readonly #stats: CheckpointStats = {
    passes: 0,
    restarts: 0,
    missed: 0,
    walFrames: 0,
  };

  private constructor(worker: Worker, options: CheckpointerOptions) {
    this.#worker = worker;
    this.#restartFrames = options.restartFrames ?? 4000;
    this.#maxPauseMs = options.maxPauseMs ?? 500;
    this.#intervalMs = options.intervalMs ?? 100;
    this.#nextPauseAt = this.#restartFrames;
    worker.on("message", (reply: CheckpointReply) => {
      this.#waiting.shift()?.(reply);
    });
    worker.on("error", (err: Error) => {
      this.#fail(new Error(`Checkpoint thread failed: ${err.message}`));
    });
  }

  /**
   * Starts the worker and opens its connection.
   *
   * @param options The file, driver and thresholds.
   * @returns A running checkpointer, not yet attached to a store.
   * @throws {Error} when the worker cannot open the file.
   */
  static async start(options: CheckpointerOptions): Promise<Checkpointer> {
    // `.js` in the npm build (`deno pack` compiles this file too).
    const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
    const worker = new Worker(
      new URL(`./checkpoint_worker.${ext}`, import.meta.url),
    );
    const c = new Checkpointer(worker, options);
    try {
      await c.#request({
        type: "open",
        path: options.path,
        driver: options.driver,
        synchronous: options.synchronous,
      });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return c;
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
    if (this.#running === null && !this.#closed) {
      this.#running = this.#loop().finally(() => this.#running = null);
    }
  }

  /** Stops the worker after its pass in progress and closes its connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    await this.#running;
    try {
      await this.#request({ type: "close" });
    } catch {
      // The worker already failed: nothing left open.
    }
    await this.#worker.terminate();
  }

  async #loop(): Promise<void> {
    try {
      while (this.#dirty && !this.#closed) {
        this.#dirty = false;
        const started = performance.now();
        const r = await this.#pass();
        if (r.log < this.#restartFrames) {
          this.#nextPauseAt = this.#restartFrames;
        } else if (r.log >= this.#nextPauseAt) {
          await this.#rewind();
        }
        const rest = started + this.#intervalMs - performance.now();
        if (rest > 0 && !this.#closed) await this.#sleep(rest);
      }
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Writes paused: one more pass, so the next batch rewinds the WAL. */
  async #rewind(): Promise<void> {
    const gate = this.#gate;
    gate?.pause();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const late = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), this.#maxPauseMs);
      });
      const r = await Promise.race([this.#pass(), late]);
      if (r !== null && !r.busy && r.checkpointed === r.log) {
        this.#stats.restarts++;
      } else {
        // Something holds an old snapshot: pause again only after another
        // `restartFrames`, not at every commit.
        this.#stats.missed++;
        this.#nextPauseAt = (r?.log ?? this.#nextPauseAt) +
          this.#restartFrames;
      }
    } finally {
      clearTimeout(timer);
      gate?.resume();
    }
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

  async #pass(): Promise<Pass> {
    const r = await this.#request({ type: "pass" }) as Pass;
    this.#stats.passes++;
    this.#stats.walFrames = r.log;
    return r;
  }

  #request(req: CheckpointRequest): Promise<CheckpointReply> {
    return new Promise((resolve, reject) => {
      this.#waiting.push((reply) => {
        if (reply.type === "error") reject(new Error(reply.message));
        else resolve(reply);
      });
      this.#worker.postMessage(req);
    });
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiting.splice(0)) {
      w({ type: "error", message: err.message });
    }
    void this.#worker.terminate();
    this.#gate?.resume();
    this.#failed?.(err);
  }
}

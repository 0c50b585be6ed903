/**
 * The store's side of the checkpoint thread: starts the
 * `node:worker_threads` worker (`checkpoint_worker.ts`) and sends it one
 * request at a time, each answered in order. What to ask it, and when, is
 * `checkpointer.ts`'s business.
 *
 * @module
 */

import { Worker } from "node:worker_threads";
import type {
  CheckpointReply,
  CheckpointRequest,
} from "./checkpoint_worker.ts";

/** The answer to a pass: busy or not, WAL frames, frames copied. */
export type PassReply = Extract<CheckpointReply, { type: "pass" }>;

/** The checkpoint worker and its requests; see the module doc. */
export class CheckpointThread {
  readonly #worker: Worker;
  #waiting: ((reply: CheckpointReply) => void)[] = [];

  /**
   * Starts the worker; its connection opens with {@linkcode open}.
   *
   * @param onError Called when the worker fails (it cannot load, or it
   *   throws); requests already sent then wait until {@linkcode abort}.
   */
  constructor(onError: (err: Error) => void) {
    // `.js` in the npm build (`deno pack` compiles this file too).
    const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
    const worker = new Worker(
      new URL(`./checkpoint_worker.${ext}`, import.meta.url),
    );
    this.#worker = worker;
    worker.on("message", (reply: CheckpointReply) => {
      this.#waiting.shift()?.(reply);
    });
    worker.on("error", (err: Error) => {
      onError(new Error(`Checkpoint thread failed: ${err.message}`));
    });
  }

  /**
   * Opens the worker's connection.
   *
   * @param options The file, the driver to open it with, and the fsyncs a
   *   checkpoint makes.
   * @returns The database's page size, in bytes.
   * @throws {Error} when the worker cannot open the file.
   */
  async open(
    options: { path: string; driver: string; synchronous: string },
  ): Promise<number> {
    const ready = await this.#request({
      type: "open",
      path: options.path,
      driver: options.driver,
      synchronous: options.synchronous,
    }) as Extract<CheckpointReply, { type: "ready" }>;
    return ready.pageSize;
  }

  /**
   * Runs one passive checkpoint.
   *
   * @returns What the pass saw and copied.
   * @throws {Error} when the pass fails, or the worker has failed.
   */
  pass(): Promise<PassReply> {
    return this.#request({ type: "pass" }) as Promise<PassReply>;
  }

  /** Closes the worker's connection, then stops the worker. */
  async close(): Promise<void> {
    try {
      await this.#request({ type: "close" });
    } catch {
      // The worker already failed: nothing left open.
    }
    await this.#worker.terminate();
  }

  /**
   * After a failure: fails every request still waiting for its answer and
   * stops the worker, without waiting for it to stop.
   *
   * @param message The error the waiting requests fail with.
   */
  abort(message: string): void {
    for (const w of this.#waiting.splice(0)) {
      w({ type: "error", message });
    }
    void this.#worker.terminate();
  }

  /** Stops the worker (its connection not closed: it never opened). */
  async terminate(): Promise<void> {
    await this.#worker.terminate();
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
}

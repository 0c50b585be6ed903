/**
 * One claimed intent inside a worker: its abort controller and its heartbeat,
 * which extends the lease at a third of its length and aborts the handler
 * when the server says the lease is lost.
 *
 * @module
 */

import { LeaseLostError } from "../core/errors.ts";
import type { IntentClient } from "./client.ts";
import type { LeasedIntent } from "./types.ts";

/** A claimed intent being worked on. */
export class Job {
  /** The intent. */
  readonly intent: LeasedIntent;
  /** Fires when the lease is lost or the worker gives the intent back. */
  readonly controller = new AbortController();
  /** Seconds each extension asks for. */
  readonly leaseSeconds: number;
  /** The server refused an extension: someone else may hold the intent. */
  lost = false;
  /** The worker gave the intent back (or abandoned it) at shutdown. */
  released = false;
  /** The handler returned or threw; only its acknowledgement is left. */
  handlerDone = false;
  /** Resolves once the handler and its acknowledgement are over. */
  settled: Promise<void> = Promise.resolve();
  readonly #client: IntentClient;
  readonly #onError: (error: unknown) => void;
  #timer?: ReturnType<typeof setTimeout>;
  #beating = false;

  /**
   * @param client Sends the extensions.
   * @param intent The claimed intent.
   * @param leaseSeconds Seconds each extension asks for.
   * @param onError Told of extension failures other than a lost lease.
   */
  constructor(
    client: IntentClient,
    intent: LeasedIntent,
    leaseSeconds: number,
    onError: (error: unknown) => void,
  ) {
    this.#client = client;
    this.intent = intent;
    this.leaseSeconds = leaseSeconds;
    this.#onError = onError;
  }

  /** True once the job no longer holds its lease. */
  get gone(): boolean {
    return this.lost || this.released;
  }

  /** Starts the heartbeat: an extension every third of the lease. */
  startHeartbeat(): void {
    this.#beating = true;
    this.#schedule();
  }

  /** Stops the heartbeat; an extension in flight finishes on its own. */
  stopHeartbeat(): void {
    this.#beating = false;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (!this.#beating) return;
    const lease = Math.min(this.leaseSeconds, this.intent.leaseSeconds);
    this.#timer = setTimeout(() => this.#beat(), lease * 1000 / 3);
  }

  async #beat(): Promise<void> {
    try {
      await this.extend();
    } catch (error) {
      if (!(error instanceof LeaseLostError) && !this.gone) {
        this.#onError(error);
      }
    }
    this.#schedule();
  }

  /**
   * Extends the lease now. A refusal marks the lease lost and aborts the
   * handler's signal.
   *
   * @param seconds Seconds from now; the worker's lease length by default.
   * @throws {LeaseLostError} when the lease is lost.
   */
  async extend(seconds = this.leaseSeconds): Promise<void> {
    if (this.gone) throw new LeaseLostError("Lease already lost or released");
    try {
      await this.#client.extend(
        this.intent.id,
        this.intent.claimToken,
        seconds,
      );
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.lost = true;
        this.stopHeartbeat();
        this.controller.abort(error);
      }
      throw error;
    }
  }
}

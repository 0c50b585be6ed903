/**
 * One claimed intent inside a worker: its abort controller, an estimate of
 * when its lease ends, and its heartbeat, which extends the lease whenever
 * less than two thirds of a lease is left and aborts the handler when the
 * server says the lease is lost.
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
  /** Seconds each heartbeat asks for, at least. */
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
  /** The lease length the heartbeat keeps ahead, in ms. */
  readonly #spanMs: number;
  #leaseEnd: number;
  #timer?: ReturnType<typeof setTimeout>;
  #beating = false;
  /** Cancels a heartbeat in flight once the heartbeat stops. */
  #beat?: AbortController;

  /**
   * @param client Sends the extensions.
   * @param intent The claimed intent, just claimed: its lease runs from now.
   * @param leaseSeconds Seconds each heartbeat asks for, at least.
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
    // A server that granted less than asked gets beats at its own pace.
    this.#spanMs = Math.min(leaseSeconds, intent.leaseSeconds) * 1000;
    this.#leaseEnd = Date.now() + intent.leaseSeconds * 1000;
  }

  /** True once the job no longer holds its lease. */
  get gone(): boolean {
    return this.lost || this.released;
  }

  /**
   * When the lease ends as far as this worker knows (unix ms): the time an
   * extension was sent plus its length, so never later than the server's.
   */
  get leaseEnd(): number {
    return this.#leaseEnd;
  }

  /** Starts the heartbeat. */
  startHeartbeat(): void {
    this.#beating = true;
    this.#schedule();
  }

  /** Stops the heartbeat, cancelling an extension it has in flight. */
  stopHeartbeat(): void {
    this.#beating = false;
    clearTimeout(this.#timer);
    this.#beat?.abort();
  }

  /** The next beat comes when two thirds of a lease are left. */
  #schedule(delayMs = this.#leaseEnd - Date.now() - this.#spanMs * 2 / 3) {
    clearTimeout(this.#timer);
    if (!this.#beating) return;
    this.#timer = setTimeout(() => this.#heartbeat(), Math.max(0, delayMs));
  }

  async #heartbeat(): Promise<void> {
    // Never shorter than the lease left: an explicit extend(600) stays.
    const left = Math.ceil((this.#leaseEnd - Date.now()) / 1000);
    const beat = this.#beat = new AbortController();
    try {
      await this.#extend(Math.max(this.leaseSeconds, left), beat.signal);
    } catch (error) {
      if (!this.#beating) return;
      if (!(error instanceof LeaseLostError)) this.#onError(error);
      // Try again a third of a lease later, as the lease may still last.
      return this.#schedule(this.#spanMs / 3);
    }
    this.#schedule();
  }

  /**
   * Extends the lease to now plus `seconds`; the heartbeat then keeps at
   * least that end. A refusal marks the lease lost and aborts the handler's
   * signal.
   *
   * @param seconds Seconds from now; the worker's lease length by default.
   * @throws {LeaseLostError} when the lease is lost.
   */
  async extend(seconds: number = this.leaseSeconds): Promise<void> {
    await this.#extend(seconds);
    this.#schedule();
  }

  async #extend(seconds: number, signal?: AbortSignal): Promise<void> {
    if (this.gone) throw new LeaseLostError("Lease already lost or released");
    const sent = Date.now();
    try {
      await this.#client.extend(
        this.intent.id,
        this.intent.claimToken,
        seconds,
        { signal },
      );
      this.#leaseEnd = sent + seconds * 1000;
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

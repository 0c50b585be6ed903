/**
 * One claimed intent inside a worker: its abort controller, an estimate of
 * when its lease ends, and its heartbeat, which extends the lease whenever
 * less than two thirds of a lease is left. The handler's signal fires when
 * the server says the lease is lost, and also when the lease end the worker
 * knows of comes near (a second before, a tenth of a short lease) with no
 * extension confirmed: past it another worker may hold the intent. No
 * extension request waits past that point either.
 *
 * @module
 */

import { IntentBusError, LeaseLostError } from "../core/errors.ts";
import { linkSignal } from "./_abort.ts";
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
  /**
   * The server refused an extension, or the lease ran out without one:
   * someone else may hold the intent.
   */
  lost = false;
  /** The worker gave the intent back (or abandoned it) at shutdown. */
  released = false;
  /** The handler returned or threw; only its acknowledgement is left. */
  handlerDone = false;
  /** Resolves once the handler and its acknowledgement are over. */
  settled: Promise<void> = Promise.resolve();
  /** Resolves once the handler returned or threw. */
  readonly handlerOver: Promise<void>;
  /** Resolves {@linkcode Job.handlerOver}. */
  readonly handlerEnded: () => void;
  readonly #client: IntentClient;
  readonly #onError: (error: unknown) => void;
  /** The lease length the heartbeat keeps ahead, in ms. */
  readonly #spanMs: number;
  /** How long before the lease end the handler is stopped, in ms. */
  readonly #marginMs: number;
  #leaseEnd: number;
  #timer?: ReturnType<typeof setTimeout>;
  #expiry?: ReturnType<typeof setTimeout>;
  #beating = false;
  /** The lease end is watched until the heartbeat stops for good. */
  #watching = true;
  /** Cancels a heartbeat in flight once the heartbeat stops. */
  #beat?: AbortController;

  /**
   * @param client Sends the extensions.
   * @param intent The claimed intent, just claimed: its lease runs from now.
   * @param leaseSeconds Seconds each heartbeat asks for, at least.
   * @param onError Told of extension failures other than a refusal, and of
   *   a lease that ran out unconfirmed.
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
    this.#marginMs = Math.min(1_000, this.#spanMs / 10);
    this.#leaseEnd = Date.now() + intent.leaseSeconds * 1000;
    let ended = () => {};
    this.handlerOver = new Promise((resolve) => (ended = resolve));
    this.handlerEnded = ended;
    this.#watch();
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

  /** When the handler is stopped unless an extension is confirmed (unix ms). */
  get deadline(): number {
    return this.#leaseEnd - this.#marginMs;
  }

  /** Starts the heartbeat. */
  startHeartbeat(): void {
    this.#beating = true;
    this.#schedule();
  }

  /**
   * Stops the heartbeat, cancelling an extension it has in flight, and the
   * watch on the lease end.
   */
  stopHeartbeat(): void {
    this.#beating = false;
    this.#watching = false;
    clearTimeout(this.#timer);
    clearTimeout(this.#expiry);
    this.#beat?.abort();
  }

  /** Arms the timer that stops the handler at the deadline. */
  #watch(): void {
    clearTimeout(this.#expiry);
    if (this.gone || !this.#watching) return;
    this.#expiry = setTimeout(
      () => this.#expire(),
      Math.max(0, this.deadline - Date.now()),
    );
  }

  #expire(): void {
    if (this.gone || Date.now() < this.deadline) return this.#watch();
    this.lost = true;
    const error = new LeaseLostError(
      "Lease ran out with no extension confirmed: the server did not answer in time",
    );
    this.stopHeartbeat();
    this.controller.abort(error);
    this.#onError(error);
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
      // Try again a third of a lease later, or sooner as the end nears.
      const soon = (this.deadline - Date.now()) / 2;
      return this.#schedule(Math.max(250, Math.min(this.#spanMs / 3, soon)));
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
   * @throws {IntentBusError} code `timeout` when no answer came before the
   *   lease end.
   */
  async extend(seconds: number = this.leaseSeconds): Promise<void> {
    await this.#extend(seconds);
    this.#schedule();
  }

  async #extend(seconds: number, signal?: AbortSignal): Promise<void> {
    if (this.gone) throw new LeaseLostError("Lease already lost or released");
    const sent = Date.now();
    // No attempt, nor all of them, may outlast the lease: past its end the
    // answer comes too late to keep the intent.
    const within = Math.max(1, this.deadline - sent);
    const link = linkSignal(signal, within);
    const { timeoutMs } = this.#client;
    try {
      await this.#client.extend(
        this.intent.id,
        this.intent.claimToken,
        seconds,
        {
          signal: link.signal,
          timeoutMs: Math.max(1, Math.min(timeoutMs, within / 2)),
        },
      );
      this.#leaseEnd = sent + seconds * 1000;
      this.#watch();
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.lost = true;
        this.stopHeartbeat();
        this.controller.abort(error);
      }
      if (link.signal.aborted && !signal?.aborted) {
        throw new IntentBusError(
          "timeout",
          "Extension not answered before the lease end",
        );
      }
      throw error;
    } finally {
      link.dispose();
    }
  }
}

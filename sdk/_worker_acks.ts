/**
 * A worker's acknowledgements: through `/ack` in batches when the server
 * offers it, else one at a time, and tried again after transient failures
 * while the lease lasts.
 *
 * @module
 */

import { IntentBusError } from "../core/errors.ts";
import { sleep } from "./_abort.ts";
import { AckQueue } from "./_ack_queue.ts";
import { backoffDelay } from "./_backoff.ts";
import type { Job } from "./_job.ts";
import { errorText } from "./_wire.ts";
import type { IntentClient } from "./client.ts";
import type { Ack, AckResult } from "./types.ts";

/**
 * Failures of an acknowledgement worth another try while the lease lasts:
 * the server, or the way to it, is briefly unwell.
 */
const TRANSIENT = new Set([
  "network_error",
  "timeout",
  "database_busy",
  "storage_full",
  "rate_limited",
  "http_502",
  "http_504",
]);

/** Sends a worker's acknowledgements. */
export class WorkerAcks {
  readonly #client: IntentClient;
  readonly #acks: AckQueue;
  readonly #features: () => Set<string>;
  readonly #graceOver: AbortSignal;
  readonly #abandon: AbortSignal;

  /**
   * @param client The client to acknowledge with.
   * @param features The features the worker knows of now.
   * @param graceOver Fires when the grace period ends: no more tries.
   * @param abandon Fires when the worker gives up on the server: requests
   *   in flight are cut off.
   */
  constructor(
    client: IntentClient,
    features: () => Set<string>,
    graceOver: AbortSignal,
    abandon: AbortSignal,
  ) {
    this.#client = client;
    this.#features = features;
    this.#graceOver = graceOver;
    this.#abandon = abandon;
    // Acknowledgements in flight at the very end are cut off with the rest.
    const final = { signal: abandon };
    this.#acks = new AckQueue((acks) => client.ack(acks, final));
  }

  /**
   * Acknowledges, trying again after transient failures until `by` (the
   * lease end when the handler returned) and while the grace period, once
   * stopping, has not ended: a result is worth more than the few seconds a
   * server restart takes.
   *
   * @param job The intent's job: no more tries once it is gone.
   * @param ack The acknowledgement.
   * @param by The last moment to try (unix ms).
   * @returns The last try's result; never rejects.
   */
  async ack(job: Job, ack: Ack, by: number): Promise<AckResult> {
    for (let n = 0;; n++) {
      const result = await this.#ackOnce(ack);
      if (result.ok || !TRANSIENT.has(result.error.code)) return result;
      const wait = backoffDelay(n, 1_000, 5_000);
      if (job.gone || Date.now() + wait >= by) return result;
      try {
        await sleep(wait, this.#graceOver);
      } catch {
        return result;
      }
    }
  }

  async #ackOnce(ack: Ack): Promise<AckResult> {
    try {
      if (this.#features().has("batch_ack")) return await this.#acks.push(ack);
      const [result] = await this.#client.ack([ack], {
        signal: this.#abandon,
      });
      return result;
    } catch (error) {
      const wrapped = error instanceof IntentBusError
        ? error
        : new IntentBusError("ack_failed", errorText(error));
      return { ok: false, id: ack.id, error: wrapped };
    }
  }
}

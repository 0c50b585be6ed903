/**
 * Batches acknowledgements without adding latency: the first ack is sent at
 * once, and those that arrive while a request is in flight go together in
 * the next one.
 *
 * @module
 */

import { IntentBusError } from "../core/errors.ts";
import type { Ack, AckResult } from "./types.ts";

interface Pending {
  ack: Ack;
  resolve(result: AckResult): void;
  reject(error: unknown): void;
}

/** A queue of acknowledgements sent through one batch function. */
export class AckQueue {
  readonly #send: (acks: Ack[]) => Promise<AckResult[]>;
  readonly #max: number;
  #pending: Pending[] = [];
  #flushing = false;

  /**
   * @param send Sends one batch, answering one result per ack in order.
   * @param max Most acks per batch.
   */
  constructor(send: (acks: Ack[]) => Promise<AckResult[]>, max = 100) {
    this.#send = send;
    this.#max = max;
  }

  /**
   * Queues one acknowledgement.
   *
   * @param ack The acknowledgement.
   * @returns Its result once its batch is answered.
   */
  push(ack: Ack): Promise<AckResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ ack, resolve, reject });
      if (!this.#flushing) {
        this.#flushing = true;
        // A microtask lets acks made in the same turn join the first batch.
        queueMicrotask(() => this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#max);
      try {
        const results = await this.#send(batch.map((p) => p.ack));
        batch.forEach((p, i) =>
          p.resolve(
            results[i] ?? {
              ok: false,
              id: p.ack.id,
              error: new IntentBusError("missing_result", "No result for ack"),
            },
          )
        );
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.#flushing = false;
  }
}

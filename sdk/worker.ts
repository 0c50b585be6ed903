/**
 * `Worker`: runs a handler over the intents of one goal, with concurrency,
 * long-poll and batch claims when the server offers them (adaptive polling
 * when it does not), heartbeats, lease-loss aborts, acknowledgements tried
 * again while the lease lasts, and graceful shutdown.
 *
 * The class holds the claiming loop and runs each handler; the machinery
 * lives elsewhere: the public types in `worker_types.ts` (re-exported here),
 * one intent's lease and heartbeat in `_job.ts`, acknowledgements in
 * `_worker_acks.ts` and `_ack_queue.ts`, shutdown in `_worker_drain.ts`,
 * signals in `_signals.ts`, options in `_worker_options.ts`.
 *
 * @module
 */

import { IntentBusError, ValidationError } from "../core/errors.ts";
import { sleep } from "./_abort.ts";
import { backoffDelay } from "./_backoff.ts";
import { Job } from "./_job.ts";
import { listenSignals } from "./_signals.ts";
import { WorkerAcks } from "./_worker_acks.ts";
import { drain } from "./_worker_drain.ts";
import { type Settings, settingsOf } from "./_worker_options.ts";
import { errorText } from "./_wire.ts";
import type { IntentClient } from "./client.ts";
import type { Ack, LeasedIntent } from "./types.ts";
import type {
  HandlerContext,
  WorkerOptions,
  WorkerStats,
} from "./worker_types.ts";

export type {
  Handler,
  HandlerContext,
  WorkerOptions,
  WorkerStats,
} from "./worker_types.ts";

/**
 * A worker for one goal.
 *
 * @example
 * ```ts
 * import { IntentClient, Worker } from "./mod.ts";
 *
 * const client = new IntentClient({ url: "http://127.0.0.1:1", apiKey: "k" });
 * const worker = new Worker(client, {
 *   goal: "resize",
 *   concurrency: 4,
 *   handler: (intent) => ({ done: intent.id }),
 * });
 * console.log(worker.running); // 0
 * ```
 */
export class Worker {
  readonly #client: IntentClient;
  readonly #o: Settings;
  readonly #namespace?: string;
  readonly #publisher?: string;
  /** Fires at stop(): no more claims. */
  readonly #stop = new AbortController();
  /** Fires when the grace period ends, or at a second signal. */
  readonly #graceOver = new AbortController();
  /** Fires after the final few seconds, or at a further signal: give up. */
  readonly #abandon = new AbortController();
  readonly #jobs = new Map<string, Job>();
  readonly #acks: WorkerAcks;
  #features = new Set<string>();
  #done?: Promise<void>;
  #slot?: () => void;
  /** Handlers running; an intent being acknowledged no longer counts. */
  #busy = 0;
  /** Counts since start. */
  readonly stats: WorkerStats = {
    claimed: 0,
    fulfilled: 0,
    failed: 0,
    released: 0,
    lost: 0,
  };

  /**
   * Makes a worker; nothing happens until {@linkcode Worker.start}.
   *
   * @param client The client to claim and acknowledge with.
   * @param options The goal, handler and tuning.
   * @throws {TypeError} without a goal or handler.
   * @throws {RangeError} when a number is out of range, or not an integer
   *   where the protocol needs one (concurrency, lease, batch).
   */
  constructor(client: IntentClient, options: WorkerOptions) {
    this.#o = settingsOf(options);
    this.#client = client;
    this.#namespace = options.namespace;
    this.#publisher = options.publisher;
    this.#acks = new WorkerAcks(
      client,
      () => this.#features,
      this.#graceOver.signal,
      this.#abandon.signal,
    );
  }

  /** Handlers running now. */
  get running(): number {
    return this.#busy;
  }

  /**
   * Starts claiming. Calling it again returns the same promise.
   *
   * @returns Resolves once the worker has stopped and drained; never rejects.
   */
  start(): Promise<void> {
    if (!this.#done) {
      const names = this.#o.signals === true
        ? ["SIGINT", "SIGTERM"]
        : this.#o.signals || [];
      const unlisten = listenSignals(names, () => this.#onSignal());
      this.#done = this.#run()
        .catch((e) => this.#o.onError(e))
        .finally(unlisten);
    }
    return this.#done;
  }

  /**
   * Stops claiming, lets running handlers finish within the grace period,
   * then aborts and releases the rest, giving the server at most 5 s.
   *
   * @returns Resolves once stopped; never rejects.
   */
  stop(): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#stop.abort(new DOMException("Worker is stopping", "AbortError"));
      this.#slot?.();
    }
    return this.#done ?? Promise.resolve();
  }

  #onSignal(): void {
    // A second signal ends the grace period at once; one after it gives up
    // on the releases and acknowledgements still waiting for the server.
    if (!this.#stop.signal.aborted) this.stop();
    else if (!this.#graceOver.signal.aborted) this.#graceOver.abort();
    else {
      this.#abandon.abort(
        new IntentBusError("aborted", "Worker stopped by a further signal"),
      );
    }
  }

  async #pause(ms: number): Promise<void> {
    await sleep(ms, this.#stop.signal).catch(() => {});
  }

  async #run(): Promise<void> {
    for (let n = 0; !this.#stop.signal.aborted; n++) {
      try {
        this.#features = await this.#client.features({
          signal: this.#stop.signal,
        });
        break;
      } catch (e) {
        if (this.#stop.signal.aborted) break;
        this.#o.onError(e);
        await this.#pause(
          Math.max(this.#o.idleMinMs, backoffDelay(n, 1_000, 30_000)),
        );
      }
    }
    await this.#claimLoop();
    await drain({
      client: this.#client,
      jobs: this.#jobs,
      gracePeriodMs: this.#o.gracePeriodMs,
      graceOver: this.#graceOver,
      abandon: this.#abandon,
      features: () => this.#features,
      stats: this.stats,
      onError: this.#o.onError,
    });
  }

  /**
   * Reads the features again: the client forgets them when an extension's
   * route is missing (a server restarted without its extensions). A failed
   * read keeps what was known.
   */
  async #refresh(): Promise<void> {
    try {
      this.#features = await this.#client.features({
        signal: this.#stop.signal,
      });
    } catch {
      // The claim that follows reports the trouble.
    }
  }

  async #claimLoop(): Promise<void> {
    const o = this.#o;
    let idle = o.idleMinMs;
    let errors = 0;
    while (!this.#stop.signal.aborted) {
      const free = o.concurrency - this.#busy;
      if (free <= 0) {
        await new Promise<void>((r) => (this.#slot = r));
        continue;
      }
      await this.#refresh();
      if (this.#stop.signal.aborted) break;
      const longpoll = this.#features.has("longpoll");
      const batch = this.#features.has("batch_claim");
      const began = Date.now();
      let got;
      try {
        got = await this.#client.poll(o.goal, {
          namespace: this.#namespace,
          publisher: this.#publisher,
          max: batch ? Math.min(free, o.batch) : undefined,
          wait: longpoll && o.waitSeconds > 0 ? o.waitSeconds : undefined,
          lease: o.leaseSeconds,
          signal: this.#stop.signal,
        });
        errors = 0;
      } catch (e) {
        if (this.#stop.signal.aborted) break;
        o.onError(e);
        await this.#pause(
          Math.max(o.idleMinMs, backoffDelay(errors++, 1_000, 30_000)),
        );
        continue;
      }
      if (got.intents.length > 0) {
        idle = o.idleMinMs;
        for (const intent of got.intents) this.#launch(intent);
        continue;
      }
      const hint = (got.retryAfter ?? 0) * 1000;
      // After a long-poll the server held, its Retry-After is the only pause
      // (a 30 s wait plus 1 s keeps an idle worker under 120 requests an
      // hour). One answered early, or plain polling, waits longer and longer
      // while nothing arrives.
      const held = longpoll && Date.now() - began >= o.waitSeconds * 500;
      if (held) await this.#pause(hint);
      else {
        await this.#pause(Math.max(idle, hint));
        idle = Math.min(idle * 2, o.idleMaxMs);
      }
    }
  }

  #launch(intent: LeasedIntent): void {
    this.stats.claimed++;
    const job = new Job(
      this.#client,
      intent,
      this.#o.leaseSeconds,
      (e) => this.#o.onError(e, intent),
    );
    this.#jobs.set(intent.id, job);
    this.#busy++;
    job.settled = this.#work(job).finally(() => {
      job.stopHeartbeat();
      this.#jobs.delete(intent.id);
    });
  }

  /**
   * A handler finished: its slot may claim again while its ack is sent. The
   * heartbeat goes on until the ack is answered, so that a slow one does
   * not let the lease lapse.
   */
  #handlerDone(job: Job): void {
    job.handlerDone = true;
    job.handlerEnded();
    this.#busy--;
    this.#slot?.();
    this.#slot = undefined;
  }

  async #work(job: Job): Promise<void> {
    const { intent } = job;
    job.startHeartbeat();
    let outcome: Ack;
    const base = { id: intent.id, claimToken: intent.claimToken };
    const ctx: HandlerContext = {
      signal: job.controller.signal,
      extend: (seconds) => job.extend(seconds),
    };
    try {
      const value = await this.#o.handler(intent, ctx);
      outcome = {
        ...base,
        status: "fulfilled",
        result: value === undefined ? undefined : value,
        resultType: value === undefined ? undefined : ctx.resultType,
      };
    } catch (error) {
      outcome = { ...base, status: "failed", error: errorText(error) };
    } finally {
      this.#handlerDone(job);
    }
    // Once the signal fired (lease lost, or the intent is being given
    // back), the outcome is not acknowledged.
    if (job.gone || job.controller.signal.aborted) {
      if (job.lost) this.stats.lost++;
      return;
    }
    // The heartbeat goes on meanwhile, so a slow answer keeps the lease;
    // tries after a failure stop at the lease end the handler left.
    const by = job.leaseEnd;
    let result = await this.#acks.ack(job, outcome, by);
    if (
      !result.ok && result.error instanceof ValidationError &&
      outcome.status === "fulfilled"
    ) {
      // A result that cannot be encoded, or that the server refused (too
      // large?): fail the intent rather than leave it claimed.
      const { code, message } = result.error;
      outcome = {
        ...base,
        status: "failed",
        error: errorText(
          code === "invalid_json" ? message : `Result refused: ${message}`,
        ),
      };
      result = await this.#acks.ack(job, outcome, by);
    }
    // Answered, or given up: the lease is no longer needed, and nothing is
    // sent for this intent once its outcome is reported.
    job.stopHeartbeat();
    if (result.ok) {
      this.stats[outcome.status]++;
      this.#o.onAck(intent, outcome);
    } else {
      if (result.error.code === "lease_lost" || job.lost) this.stats.lost++;
      this.#o.onError(result.error, intent);
    }
  }
}

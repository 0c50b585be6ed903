/**
 * `Worker`: runs a handler over the intents of one goal, with concurrency,
 * long-poll and batch claims when the server offers them (adaptive polling
 * when it does not), heartbeats, lease-loss aborts, acknowledgements tried
 * again while the lease lasts, and graceful shutdown.
 *
 * Longer than our usual 200 lines: the public types beside the class carry
 * runnable examples; the machinery lives in `_job.ts`, `_ack_queue.ts` and
 * `_worker_options.ts`.
 *
 * @module
 */

import { IntentBusError, ValidationError } from "../core/errors.ts";
import type { JsonValue, ResultType } from "../core/intent.ts";
import { outlasts, sleep } from "./_abort.ts";
import { AckQueue } from "./_ack_queue.ts";
import { backoffDelay } from "./_backoff.ts";
import { Job } from "./_job.ts";
import { listenSignals } from "./_signals.ts";
import { type Settings, settingsOf } from "./_worker_options.ts";
import { errorText } from "./_wire.ts";
import type { IntentClient } from "./client.ts";
import type { Ack, AckResult, LeasedIntent } from "./types.ts";

/**
 * What a handler receives beside the intent.
 *
 * @example Passing the signal on, and extending by hand before a long step
 * ```ts
 * import type { HandlerContext } from "./worker.ts";
 *
 * async function render(ctx: HandlerContext): Promise<string> {
 *   await ctx.extend(600); // the next step may take ten minutes
 *   ctx.signal.throwIfAborted();
 *   return "done";
 * }
 * console.log(typeof render); // "function"
 * ```
 */
export interface HandlerContext {
  /**
   * Fires when the lease is lost (the server refused an extension, or none
   * was confirmed by about a second before the lease end), or at shutdown
   * once the grace period ends.
   */
  signal: AbortSignal;
  /**
   * Extends the lease to now plus `seconds` (the worker's lease length by
   * default). The worker also extends on its own, never to an earlier end.
   */
  extend(seconds?: number): Promise<void>;
  /**
   * How the result is stored: set it to "text" before returning a string to
   * store it as text rather than as a JSON string; "json" by default.
   */
  resultType?: ResultType;
}

/**
 * Works on one intent; the return value becomes its result (none when it
 * returns undefined), and a thrown error fails it with the error's message.
 *
 * @example
 * ```ts
 * import type { Handler } from "./worker.ts";
 *
 * const handler: Handler = (intent) => {
 *   const { a, b } = intent.payload as { a: number; b: number };
 *   if (b === 0) throw new Error("Division by zero");
 *   return { quotient: a / b };
 * };
 * console.log(typeof handler); // "function"
 * ```
 */
export type Handler = (
  intent: LeasedIntent,
  ctx: HandlerContext,
) => Promise<JsonValue | void> | JsonValue | void;

/**
 * Options of a {@linkcode Worker}.
 *
 * @example A worker for slow jobs that must not be cut short
 * ```ts
 * import type { WorkerOptions } from "./worker.ts";
 *
 * const options: WorkerOptions = {
 *   goal: "transcode",
 *   concurrency: 2,
 *   leaseSeconds: 120,
 *   gracePeriodMs: 60_000,
 *   handler: () => {},
 *   onError: (e, intent) => console.warn(intent?.id, e),
 * };
 * console.log(options.leaseSeconds); // 120
 * ```
 */
export interface WorkerOptions {
  /** The goal to work on. */
  goal: string;
  /** Namespace; the client's namespace by default. */
  namespace?: string;
  /** Only intents of this publisher (master key only). */
  publisher?: string;
  /** Handlers running at once, an integer; default 1. */
  concurrency?: number;
  /** Works on each intent. */
  handler: Handler;
  /** Lease asked per claim, whole seconds, 10 to 3600; default 60. */
  leaseSeconds?: number;
  /**
   * Long-poll wait, 0 to 30 seconds; default 30 (at most 120 idle requests
   * an hour). 0 claims without `wait`: the server holds an empty claim only
   * briefly, and the worker sleeps its idle delay between polls.
   */
  waitSeconds?: number;
  /** Most intents per claim (an integer, 1 to 100) when the server offers batch claim; default `concurrency`, at most 100. */
  batch?: number;
  /**
   * Time running handlers (and acknowledgements being tried again) get to
   * finish at shutdown; default 10,000 ms. Then the handlers are aborted and
   * their intents released once they end (or after 2.5 s, for a handler
   * deaf to its signal), for at most 5 s more.
   */
  gracePeriodMs?: number;
  /** Signals that stop the worker; default SIGINT and SIGTERM; false for none. */
  signals?: boolean | string[];
  /** Told of every error the worker survives; default `console.error`. */
  onError?: (error: unknown, intent?: LeasedIntent) => void;
  /** Told of each acknowledgement the server accepted, once `stats` counts it. */
  onAck?: (intent: LeasedIntent, ack: Ack) => void;
  /** First idle delay when polling without long-poll; default 100 ms. */
  idleMinMs?: number;
  /** Longest idle delay when polling without long-poll; default 5,000 ms. */
  idleMaxMs?: number;
}

/**
 * Counts since start.
 *
 * @example
 * ```ts
 * import { IntentClient, Worker } from "./mod.ts";
 *
 * const client = new IntentClient({ url: "http://127.0.0.1:1", apiKey: "k" });
 * const worker = new Worker(client, { goal: "g", handler: () => {} });
 * console.log(worker.stats.fulfilled); // 0
 * ```
 */
export interface WorkerStats {
  /** Intents claimed. */
  claimed: number;
  /** Intents fulfilled (acknowledged by the server). */
  fulfilled: number;
  /** Intents failed (acknowledged by the server). */
  failed: number;
  /** Intents given back at shutdown. */
  released: number;
  /** Leases lost while working (extension refused or acknowledgement refused). */
  lost: number;
}

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

/**
 * After the grace period, how long the releases and the acknowledgements in
 * flight may take before the worker gives up on a server that does not
 * answer.
 */
const FINAL_MS = 5_000;

/**
 * Of those final seconds, how long an aborted handler has to end before its
 * intent is given back all the same (the process is about to exit): enough
 * for a command's SIGTERM, then SIGKILL 2 s later.
 */
const STOP_WAIT_MS = 2_500;

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
  readonly #acks: AckQueue;
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
    // Acknowledgements in flight at the very end are cut off with the rest.
    const final = { signal: this.#abandon.signal };
    this.#acks = new AckQueue((acks) => client.ack(acks, final));
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
    await this.#drain();
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
    let result = await this.#ack(job, outcome, by);
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
      result = await this.#ack(job, outcome, by);
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

  /**
   * Acknowledges, trying again after transient failures until `by` (the
   * lease end when the handler returned) and while the grace period, once
   * stopping, has not ended: a result is worth more than the few seconds a
   * server restart takes.
   */
  async #ack(job: Job, ack: Ack, by: number): Promise<AckResult> {
    for (let n = 0;; n++) {
      const result = await this.#ackOnce(ack);
      if (result.ok || !TRANSIENT.has(result.error.code)) return result;
      const wait = backoffDelay(n, 1_000, 5_000);
      if (job.gone || Date.now() + wait >= by) return result;
      try {
        await sleep(wait, this.#graceOver.signal);
      } catch {
        return result;
      }
    }
  }

  async #ackOnce(ack: Ack): Promise<AckResult> {
    try {
      if (this.#features.has("batch_ack")) return await this.#acks.push(ack);
      const [result] = await this.#client.ack([ack], {
        signal: this.#abandon.signal,
      });
      return result;
    } catch (error) {
      const wrapped = error instanceof IntentBusError
        ? error
        : new IntentBusError("ack_failed", errorText(error));
      return { ok: false, id: ack.id, error: wrapped };
    }
  }

  async #drain(): Promise<void> {
    const graceOver = await outlasts(
      Promise.allSettled([...this.#jobs.values()].map((j) => j.settled)),
      this.#o.gracePeriodMs,
      this.#graceOver.signal,
    );
    if (!graceOver) return;
    this.#graceOver.abort();
    // A server that does not answer gets a few seconds, not the client's
    // four 30 s attempts per request.
    const timer = setTimeout(() =>
      this.#abandon.abort(
        new IntentBusError(
          "timeout",
          `Worker stopped without an answer from the server after ${FINAL_MS} ms`,
        ),
      ), FINAL_MS);
    await Promise.allSettled(
      [...this.#jobs.values()].map((job) =>
        job.handlerDone ? job.settled : this.#release(job)
      ),
    );
    clearTimeout(timer);
  }

  /**
   * Aborts a handler that outlived the grace period and, once it has ended,
   * gives its intent back, so that no other worker starts it while it still
   * runs; the heartbeat keeps the lease meanwhile. One deaf to its signal
   * for 2.5 s is given back all the same, as the worker is about to exit.
   */
  async #release(job: Job): Promise<void> {
    if (job.gone) return;
    job.controller.abort(new DOMException("Worker stopped", "AbortError"));
    await outlasts(job.handlerOver, STOP_WAIT_MS, this.#abandon.signal);
    job.stopHeartbeat();
    if (job.gone || this.#abandon.signal.aborted) return;
    job.released = true;
    if (!this.#features.has("release")) return;
    try {
      await this.#client.release(job.intent.id, job.intent.claimToken, {
        signal: this.#abandon.signal,
      });
      this.stats.released++;
    } catch (e) {
      this.#o.onError(e, job.intent);
    }
  }
}

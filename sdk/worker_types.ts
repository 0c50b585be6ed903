/**
 * The public types of a `Worker`: its options, the handler it
 * runs and what that handler receives, and the counts it keeps. The worker
 * module re-exports them.
 *
 * @module
 */

import type { JsonInput, ResultType } from "../core/intent.ts";
import type { Ack, LeasedIntent } from "./types.ts";

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
) => Promise<JsonInput | void> | JsonInput | void;

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

/**
 * The Intent Bus SDK: a zero-dependency client and worker runtime for Deno,
 * Node 20+ and Termux, speaking the Intent Protocol over HTTP (global `fetch`
 * and WebCrypto only).
 *
 * - {@linkcode IntentClient}: one method per route; API key from the option or
 *   `INTENT_API_KEY`, admin token from the option or `INTENT_ADMIN_TOKEN`;
 *   retries with full-jitter backoff on network errors, 429 and 503 (honouring
 *   `Retry-After`), one idempotency key per publish across its retries;
 *   optional HMAC signing; a timeout and an `AbortSignal` on every call;
 *   named errors ({@linkcode LeaseLostError}, {@linkcode RateLimitedError}, …)
 *   carrying the protocol's code.
 * - {@linkcode Worker}: reads the server's `/health` `features` once. With
 *   `longpoll` and `batch_claim` it long-polls for up to `concurrency`
 *   intents at a time; against a server without them (the original Intent
 *   Bus) it polls with an idle delay that doubles from 100 ms to 5 s and
 *   never undercuts the server's `Retry-After`. Each lease is extended at a
 *   third of its length; a refused extension aborts the handler's signal.
 *   Acknowledgements go through `/ack` in batches when offered. On SIGINT or
 *   SIGTERM (or `stop()`), it stops claiming, gives running handlers
 *   `gracePeriodMs`, then aborts them and releases their intents (when the
 *   server offers `release`; otherwise their leases simply expire). A second
 *   signal ends the grace period at once.
 *
 * @example A worker that resizes images, four at a time
 * ```ts ignore
 * import { IntentClient, Worker } from "./mod.ts";
 *
 * const client = new IntentClient({ url: "http://127.0.0.1:8080" }); // key from INTENT_API_KEY
 * await client.publish("resize", { src: "a.png", width: 320 });
 * const worker = new Worker(client, {
 *   goal: "resize",
 *   concurrency: 4,
 *   handler: async (intent, { signal }) => {
 *     const res = await fetch("http://thumbs.local/make", {
 *       method: "POST",
 *       body: JSON.stringify(intent.payload),
 *       signal,
 *     });
 *     return await res.json();
 *   },
 * });
 * await worker.start(); // runs until SIGINT/SIGTERM or worker.stop()
 * ```
 *
 * @module
 */

export { type AdminFilter, IntentClient } from "./client.ts";
export {
  type Handler,
  type HandlerContext,
  Worker,
  type WorkerOptions,
  type WorkerStats,
} from "./worker.ts";
export type * from "./types.ts";
export {
  AuthError,
  BusyError,
  ConflictError,
  IntentBusError,
  LeaseLostError,
  LimitError,
  NotFoundError,
  RateLimitedError,
  StorageFullError,
  ValidationError,
} from "../core/errors.ts";
export {
  type JsonInput,
  type JsonValue,
  RESULT_TYPES,
  type ResultType,
  VISIBILITIES,
  type Visibility,
} from "../core/intent.ts";

/**
 * The Intent Bus SDK: a zero-dependency client and worker runtime for Deno,
 * Node 20+ and Termux, speaking the Intent Protocol over HTTP.
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
  ValidationError,
} from "../core/errors.ts";
export type { JsonValue, ResultType, Visibility } from "../core/intent.ts";

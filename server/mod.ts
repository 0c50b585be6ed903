/**
 * The Intent Bus server: build the app with {@linkcode createApp}, serve it
 * with {@linkcode serveDeno}, run {@linkcode Maintenance} beside it.
 * `server/main.ts` does all three from flags and environment.
 *
 * @example Serving in-process on a free port
 * ```ts
 * import { createApp, DEFAULT_CONFIG, serveDeno } from "./mod.ts";
 * import { systemClock } from "../core/clock.ts";
 * import { openSqliteStore } from "../storage/sqlite/mod.ts";
 *
 * const store = await openSqliteStore({ path: ":memory:" });
 * const app = createApp({
 *   store,
 *   clock: systemClock,
 *   config: { ...DEFAULT_CONFIG, masterKey: "s3cret" },
 * });
 * const server = serveDeno(app, { port: 0, handleSignals: false, onClose: () => store.close() });
 * const res = await fetch(`http://127.0.0.1:${server.port}/health`);
 * console.log((await res.json()).ok); // true
 * await server.shutdown();
 * ```
 *
 * @module
 */

export {
  type AppDeps,
  createApp,
  type IntentBusApp,
  SECURITY_HEADERS,
} from "./app.ts";
export type { AppEnv } from "./context.ts";
export type { Principal } from "./auth/keys.ts";
export {
  configFromEnv,
  DEFAULT_CONFIG,
  SERVER_VERSION,
  type ServerConfig,
} from "./config.ts";
export { errorResponse, type HttpAnswer, HttpError, toHttp } from "./errors.ts";
export { IntentBusError } from "../core/errors.ts";
export {
  createLogger,
  LOG_LEVELS,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  silentLogger,
} from "./log.ts";
export {
  Maintenance,
  type MaintenanceOptions,
  type MaintenanceRun,
} from "./maintenance.ts";
export {
  type FetchApp,
  type RunningServer,
  serveDeno,
  type ServeOptions,
} from "./runtime/deno.ts";
export { generateApiKey, sha256Hex } from "./auth/keys.ts";
export type { Clock } from "../core/clock.ts";
export type * from "../storage/storage.ts";
export {
  type ClaimedIntent,
  type Intent,
  INTENT_STATES,
  type IntentState,
  type JsonInput,
  type JsonValue,
  RESULT_TYPES,
  type ResultType,
  VISIBILITIES,
  type Visibility,
} from "../core/intent.ts";

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

export { type AppDeps, createApp, SECURITY_HEADERS } from "./app.ts";
export {
  configFromEnv,
  DEFAULT_CONFIG,
  SERVER_VERSION,
  type ServerConfig,
} from "./config.ts";
export { errorResponse, HttpError, toHttp } from "./errors.ts";
export { createLogger, type Logger, silentLogger } from "./log.ts";
export { Maintenance, type MaintenanceOptions } from "./maintenance.ts";
export { type RunningServer, serveDeno } from "./runtime/deno.ts";
export { generateApiKey, sha256Hex } from "./auth/keys.ts";

/**
 * Intent Bus: a zero-infrastructure job queue. One small HTTP server over one
 * SQLite file in WAL mode; workers claim intents (jobs) with an exclusive
 * lease over plain HTTP, then fulfil or fail them.
 *
 * This entry point re-exports the server, the storage layer and the SDK. The
 * SDK alone, with no dependencies, is `./sdk/mod.ts`.
 *
 * @example Run a server on a temporary SQLite file and publish through the SDK
 * ```ts
 * import { createApp, IntentClient, openSqliteStore, serveDeno, systemClock } from "./mod.ts";
 * import { DEFAULT_CONFIG } from "./server/config.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const store = await openSqliteStore({ path: `${dir}/bus.db` });
 * const config = { ...DEFAULT_CONFIG, masterKey: "example-master-key" };
 * const app = createApp({ store, clock: systemClock, config });
 * const server = serveDeno(app, { port: 0, handleSignals: false });
 * const url = `http://127.0.0.1:${server.port}`;
 * const client = new IntentClient({ url, apiKey: "example-master-key" });
 * const { id } = await client.publish("resize", { file: "a.png" });
 * const intent = await client.claim("resize");
 * await client.fulfil(intent!.id, intent!.claimToken, { ok: true });
 * console.log(id === intent!.id); // true
 * await server.shutdown();
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export * from "./sdk/mod.ts";
export * from "./server/mod.ts";
// Both export an `AckResult`: the SDK's (wire) one keeps the name here.
export type { AckResult } from "./sdk/mod.ts";
export type { AckResult as StorageAckResult } from "./storage/storage.ts";
export {
  type Connection,
  openSqliteStore,
  type Row,
  SqliteStore,
  type SqliteStoreOptions,
  type SqlValue,
  type Statement,
} from "./storage/sqlite/mod.ts";
export type { Storage } from "./storage/storage.ts";
export type { Clock } from "./core/clock.ts";
export { ManualClock, systemClock } from "./core/clock.ts";
export { type Intent, INTENT_STATES, type IntentState } from "./core/intent.ts";

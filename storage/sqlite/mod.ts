/**
 * The SQLite store of Intent Bus: one WAL file, any driver.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from "./mod.ts";
 *
 * const store = await openSqliteStore({ path: ":memory:" });
 * const stats = await store.statsGet({ now: Date.now() });
 * console.log(stats.states.open); // 0
 * await store.close();
 * ```
 *
 * @module
 */

export { openSqliteStore, type SqliteStoreOptions } from "./open.ts";
export { mapSqliteError, SqliteStore } from "./store.ts";
export type { CheckpointStats } from "./checkpointer.ts";
export { defaultDriver, DRIVERS, loadDriver } from "./drivers/mod.ts";
export { migrate, type Migration, MIGRATIONS } from "./migrations.ts";
export {
  type Connection,
  type OpenConnection,
  type OpenOptions,
  type Row,
  SqliteError,
  type SqlValue,
  type Statement,
} from "./connection.ts";
export type * from "../storage.ts";
export {
  type ClaimedIntent,
  type Intent,
  INTENT_STATES,
  type IntentState,
  type JsonValue,
  RESULT_TYPES,
  type ResultType,
  VISIBILITIES,
  type Visibility,
} from "../../core/intent.ts";

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
export { defaultDriver, DRIVERS, loadDriver } from "./drivers/mod.ts";
export { migrate, MIGRATIONS } from "./migrations.ts";

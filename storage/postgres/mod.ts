/**
 * The PostgreSQL store of Intent Bus: the same {@linkcode Storage} as the
 * SQLite store, over one PostgreSQL database that several servers share.
 * Claims use `FOR UPDATE SKIP LOCKED`; the schema migrates itself.
 *
 * @example
 * ```ts ignore
 * import { openPostgresStore } from "./mod.ts";
 *
 * const store = await openPostgresStore({
 *   url: "postgres://bus:secret@db.example:5432/bus",
 * });
 * const stats = await store.statsGet({ now: Date.now() });
 * console.log(stats.states.open);
 * await store.close();
 * ```
 *
 * @module
 */

export { openPostgresStore, type PostgresStoreOptions } from "./open.ts";
export { mapPgError } from "./connection.ts";
export { PostgresStore } from "./store.ts";
export {
  migratePg,
  type MigrationClient,
  PG_MIGRATIONS,
  type PgMigration,
} from "./migrations.ts";
export type * from "../storage.ts";

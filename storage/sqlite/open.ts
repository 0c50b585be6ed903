/**
 * Opening a SQLite store: load the driver, set the PRAGMAs once, migrate.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from "./open.ts";
 *
 * const store = await openSqliteStore({ path: ":memory:" });
 * console.log(store.name); // "sqlite:node:sqlite"
 * await store.close();
 * ```
 *
 * @module
 */

import { defaultDriver, loadDriver } from "./drivers/mod.ts";
import { migrate } from "./migrations.ts";
import { SqliteStore } from "./store.ts";

/** How to open a SQLite store. */
export interface SqliteStoreOptions {
  /** Database file path, or `:memory:`. */
  path: string;
  /** A key of `DRIVERS`; `defaultDriver()` when omitted. */
  driver?: string;
  /**
   * `normal` (default): `synchronous=NORMAL`, a commit survives a crash of
   * the process but may be lost on power failure. `full`: `synchronous=FULL`,
   * about 4× slower writes, survives power failure.
   */
  durability?: "normal" | "full";
  /** How long a writer waits for another process's lock, ms; default 5000. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating and migrating if needed) a SQLite store in WAL mode.
 *
 * @param options See {@linkcode SqliteStoreOptions}.
 * @returns The open store.
 * @throws {RangeError} for an unknown driver or a too-new schema.
 * @throws {SqliteError} when the file cannot be opened.
 */
export async function openSqliteStore(
  options: SqliteStoreOptions,
): Promise<SqliteStore> {
  const open = await loadDriver(options.driver ?? defaultDriver());
  const db = open({ path: options.path });
  try {
    const sync = options.durability === "full" ? "FULL" : "NORMAL";
    const busy = options.busyTimeoutMs ?? 5000;
    if (!Number.isInteger(busy) || busy < 0) {
      throw new RangeError(`Invalid busyTimeoutMs: ${busy}`);
    }
    db.exec(`PRAGMA busy_timeout = ${busy}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${sync}`);
    db.exec("PRAGMA foreign_keys = OFF");
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteStore(db);
}

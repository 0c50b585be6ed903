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

import { Checkpointer } from "./checkpointer.ts";
import { defaultDriver, loadDriver } from "./drivers/mod.ts";
import {
  type Connection,
  SQLITE_BUSY,
  SQLITE_LOCKED,
  SQLITE_READONLY,
  SqliteError,
} from "./connection.ts";
import { migrate } from "./migrations.ts";
import { refreshStatistics } from "./statistics.ts";
import { SqliteStore } from "./store.ts";

/**
 * Refuses a database this process can read but not write (a `0444` file, or
 * `-wal`/`-shm` files left by another user): such a server would start, say
 * healthy, and fail every write. A delete of no row proves the write path
 * without writing anything (an empty `BEGIN IMMEDIATE` does not: it passes
 * on a read-only file); SQLite checks read-only before it takes the lock.
 * Another process holding the write lock (a busy answer, at once: the
 * connection's busy timeout is 0 by then) is not a refusal: that process
 * writes, so can we once it is done.
 */
function probeWritable(db: Connection): void {
  try {
    db.exec("DELETE FROM kv WHERE 0");
  } catch (err) {
    if (
      err instanceof SqliteError &&
      (err.code === SQLITE_BUSY || err.code === SQLITE_LOCKED)
    ) {
      return;
    }
    if (err instanceof SqliteError && err.code === SQLITE_READONLY) {
      throw new SqliteError(
        SQLITE_READONLY,
        `${err.message}: this process may read the file but not write it ` +
          "(check the owner and permissions of the file and of its -wal " +
          "and -shm files beside it)",
      );
    }
    throw err;
  }
}

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
  /**
   * How long a write waits for another process's write lock, ms; default
   * 5000, then it fails with a `BusyError`. It waits on timers, not inside
   * SQLite, so the event loop serves reads and other routes meanwhile.
   */
  busyTimeoutMs?: number;
  /**
   * Who copies the WAL into the database. `inline` (default): SQLite's
   * automatic checkpoint, inside the commit that crosses 1,000 pages.
   * `thread`: a worker thread, so commits never stall on a checkpoint's
   * fsyncs (see `checkpointer.ts`); the server's default. Only for a file:
   * `:memory:` is always `inline`.
   */
  checkpoint?: "thread" | "inline";
}

/**
 * Opens (creating and migrating if needed) a SQLite store in WAL mode.
 *
 * @param options See {@linkcode SqliteStoreOptions}.
 * @returns The open store.
 * @throws {RangeError} for an unknown driver or a too-new schema.
 * @throws {SqliteError} when the file cannot be opened, or is read-only
 *   for this process (code 8, `SQLITE_READONLY`).
 */
export async function openSqliteStore(
  options: SqliteStoreOptions,
): Promise<SqliteStore> {
  const driver = options.driver ?? defaultDriver();
  const open = await loadDriver(driver);
  const db = open({ path: options.path });
  let checkpointer: Checkpointer | undefined;
  const busy = options.busyTimeoutMs ?? 5000;
  try {
    const sync = options.durability === "full" ? "FULL" : "NORMAL";
    if (!Number.isInteger(busy) || busy < 0) {
      throw new RangeError(`Invalid busyTimeoutMs: ${busy}`);
    }
    db.exec(`PRAGMA busy_timeout = ${busy}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${sync}`);
    db.exec("PRAGMA foreign_keys = OFF");
    migrate(db);
    // Opening and migrating waited inside SQLite; from here a write that
    // finds the lock taken is tried again by the write queue, on timers,
    // and the checks below skip what another process holds locked.
    // Readers never wait for a writer in WAL mode.
    db.exec("PRAGMA busy_timeout = 0");
    probeWritable(db);
    refreshStatistics(db);
    const memory = options.path === ":memory:" || options.path === "";
    if (options.checkpoint === "thread" && !memory) {
      checkpointer = await Checkpointer.start({
        path: options.path,
        driver,
        synchronous: sync,
      });
      db.exec("PRAGMA wal_autocheckpoint = 0");
      db.exec(`PRAGMA journal_size_limit = ${checkpointer.journalSizeLimit}`);
    }
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteStore(db, { checkpointer, busyWaitMs: busy });
}

/**
 * The one place where SQLite's result codes become the named errors of
 * `core/errors.ts` that callers catch (and `server/errors.ts` maps to HTTP).
 *
 * @module
 */

import {
  BusyError,
  ConflictError,
  IntentBusError,
  StorageFullError,
} from "../../core/errors.ts";
import {
  SQLITE_BUSY,
  SQLITE_CONSTRAINT,
  SQLITE_FULL,
  SQLITE_LOCKED,
  SQLITE_READONLY,
  SqliteError,
} from "./connection.ts";

/**
 * Turns driver errors into the named errors callers catch: busy and locked
 * become {@linkcode BusyError}, constraint failures {@linkcode ConflictError}.
 *
 * @param err Anything thrown.
 * @returns The error to surface.
 */
export function mapSqliteError(err: unknown): unknown {
  if (err instanceof IntentBusError || !(err instanceof SqliteError)) {
    return err;
  }
  if (err.code === SQLITE_BUSY || err.code === SQLITE_LOCKED) {
    return new BusyError(`Database is busy: ${err.message}`);
  }
  if (err.code === SQLITE_CONSTRAINT) {
    return new ConflictError(`Constraint failed: ${err.message}`);
  }
  if (err.code === SQLITE_FULL) {
    return new StorageFullError(
      `The database is full, nothing was written: ${err.message}`,
    );
  }
  if (err.code === SQLITE_READONLY) {
    // The file became unwritable under a running server (its mode or
    // owner changed, or a -wal or -shm of another user): nothing was
    // written, and a retry works once an operator mends it.
    return new BusyError(
      `The database file cannot be written, nothing was written (check the owner and mode of it and of its -wal and -shm files): ${err.message}`,
    );
  }
  return err;
}

/**
 * How the PostgreSQL store names what goes wrong: PostgreSQL's and `pg`'s
 * errors mapped to the errors of `core/errors.ts`.
 *
 * @module
 */

import {
  BusyError,
  ConflictError,
  IntentBusError,
  StorageFullError,
  ValidationError,
} from "../../core/errors.ts";

/** SQLSTATEs that mean "try again": serialization, deadlock, overload. */
const RETRYABLE = new Set(["40001", "40P01", "53300"]);

/**
 * SQLSTATEs after which the transaction cannot go on: the statement was
 * cancelled (`statement_timeout`, `lock_timeout`), the session was ended
 * (shutdown, restart, `pg_terminate_backend`, idle-in-transaction timeout),
 * or the connection failed (class 08).
 */
const ENDS_TRANSACTION = new Set([
  "57014",
  "55P03",
  "57P01",
  "57P02",
  "57P03",
  "57P05",
  "25P03",
]);

/** Socket errors that mean the database cannot be reached right now. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
]);

/** pg's own errors (no SQLSTATE) for a connection that failed or timed out. */
const CONNECTION_LOST =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Connection ended/;

/**
 * A {@linkcode BusyError} after which the transaction it happened in
 * cannot go on: the connection was lost, or PostgreSQL cancelled the
 * statement (a timeout). Nothing of that transaction is written; a batch
 * stops at it and fails whole, instead of trying each remaining item.
 * `cause` is the driver's error.
 */
export class TransactionLostError extends BusyError {
  /**
   * @param message What happened.
   * @param cause The driver's error.
   */
  constructor(message: string, cause: unknown) {
    super(message);
    this.name = "BusyError";
    this.cause = cause;
  }
}

/**
 * Turns PostgreSQL and socket errors into the named errors callers catch:
 * a unique violation is a {@linkcode ConflictError}; text with a NUL
 * character a {@linkcode ValidationError}; a deadlock, a serialization
 * failure or overload a {@linkcode BusyError} (503 with `Retry-After`);
 * an unreachable server, a lost connection, or a statement or connection
 * that timed out a {@linkcode TransactionLostError} (also 503).
 *
 * @param err Anything thrown.
 * @returns The error to surface.
 */
export function mapPgError(err: unknown): unknown {
  if (err instanceof IntentBusError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string") {
    return CONNECTION_LOST.test(err.message)
      ? new TransactionLostError(
        `Database unavailable: ${err.message}`,
        err,
      )
      : err;
  }
  if (code === "23505") {
    return new ConflictError(`Constraint failed: ${err.message}`);
  }
  if (code === "22021" || code === "22P05") {
    // PostgreSQL text cannot hold U+0000; SQLite's can. Refused, not a 500.
    return new ValidationError(
      "Text may not contain NUL characters (U+0000) with the PostgreSQL store",
    );
  }
  if (code === "53100") {
    return new StorageFullError(
      `The database's disk is full, nothing was written: ${err.message}`,
    );
  }
  if (RETRYABLE.has(code)) {
    return new BusyError(`Database is busy: ${err.message}`);
  }
  if (ENDS_TRANSACTION.has(code) || code.startsWith("08")) {
    return new TransactionLostError(`Database is busy: ${err.message}`, err);
  }
  if (UNREACHABLE.has(code)) {
    return new TransactionLostError(
      `Database unavailable: ${err.message}`,
      err,
    );
  }
  return err;
}

/**
 * The tiny connection port the SQLite store is written against. Each SQLite
 * binding (Deno FFI, `node:sqlite`, better-sqlite3) is a thin adapter in
 * `drivers/` that satisfies it; the SQL lives once, in the store.
 *
 * Every method runs its statement to completion and resets it: a statement
 * left mid-step (a `RETURNING` read only once) pins the WAL and stops
 * checkpoints, so the WAL grows without bound.
 *
 * @module
 */

/** A value bound to or read from SQLite. Integers read back as numbers. */
export type SqlValue = string | number | bigint | null | Uint8Array;

/** One result row, keyed by column name. */
export type Row = Record<string, SqlValue>;

/** A prepared statement; reusable, never left unfinished. */
export interface Statement {
  /** Runs to completion. @returns The number of rows changed. */
  run(...params: SqlValue[]): number;
  /** Runs to completion. @returns The first row, or undefined. */
  get(...params: SqlValue[]): Row | undefined;
  /** Runs to completion. @returns Every row. */
  all(...params: SqlValue[]): Row[];
}

/** An open SQLite database. */
export interface Connection {
  /** The driver's name, such as `ffi` or `node:sqlite`. */
  readonly driver: string;
  /** The SQLite library version, such as `3.40.1`. */
  readonly sqliteVersion: string;
  /** Runs one or more statements with no parameters and no results. */
  exec(sql: string): void;
  /** Compiles a statement. Callers cache what they reuse. */
  prepare(sql: string): Statement;
  /** Closes the database; statements become unusable. */
  close(): void;
}

/** How to open a database. */
export interface OpenOptions {
  /** A file path, or `:memory:`. */
  path: string;
}

/** Opens a connection; one per driver module. */
export type OpenConnection = (options: OpenOptions) => Connection;

/** Primary result codes the store reacts to. */
export const SQLITE_BUSY = 5;
/** Primary result code: a table is locked. */
export const SQLITE_LOCKED = 6;
/** Primary result code: the file may not be written (its mode or owner). */
export const SQLITE_READONLY = 8;
/** Primary result code: the database or its disk is full. */
export const SQLITE_FULL = 13;
/** Primary result code: a constraint failed. */
export const SQLITE_CONSTRAINT = 19;

/**
 * The one error type drivers throw, carrying SQLite's primary result code.
 */
export class SqliteError extends Error {
  /** The primary result code (extended code `& 0xff`). */
  readonly code: number;

  /**
   * Creates an error from SQLite's result code and message.
   *
   * @param code SQLite's result code; reduced to the primary code.
   * @param message SQLite's message.
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "SqliteError";
    this.code = code & 0xff;
  }
}

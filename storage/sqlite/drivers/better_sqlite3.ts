/**
 * The better-sqlite3 driver: a thin adapter from better-sqlite3 12 (a Node
 * addon; 13 crashes on Node 20) to the connection port. Node only: Deno loads
 * only Node-API addons, and better-sqlite3 is a NAN addon.
 *
 * `get()` reads every row and keeps the first, so no statement is ever left
 * mid-step: an unfinished `UPDATE … RETURNING` pins the WAL and stops
 * checkpoints (see `shared/MEASURED.md`, beside the checkout). Safe integers bind as BigInt so they are
 * stored as INTEGER (better-sqlite3 binds every number as a REAL); `?NNN`
 * parameters bind by name, as better-sqlite3 requires; blobs read back as
 * plain `Uint8Array`s.
 *
 * @example
 * ```ts ignore
 * import { loadBetterSqlite3 } from "./better_sqlite3.ts";
 *
 * const open = await loadBetterSqlite3(); // under Node, with better-sqlite3 installed
 * const db = open({ path: ":memory:" });
 * console.log(db.prepare("SELECT 1 + 1 AS two").get()); // { two: 2 }
 * db.close();
 * ```
 *
 * @module
 */

import {
  type Connection,
  type OpenConnection,
  type Row,
  SqliteError,
  type SqlValue,
  type Statement,
} from "../connection.ts";
import { integersAsBigInt } from "./_bind.ts";

export type {
  Connection,
  OpenConnection,
  OpenOptions,
  Row,
  SqlValue,
  Statement,
} from "../connection.ts";

/** The slice of better-sqlite3's statement this driver uses. */
export interface BsqStatement {
  /** Whether the statement returns rows. */
  readonly reader: boolean;
  /** Runs it; reports the rows changed. */
  run(...params: unknown[]): { changes: number | bigint };
  /** Runs it; returns every row. */
  all(...params: unknown[]): Record<string, unknown>[];
}

/** The slice of better-sqlite3's database this driver uses. */
export interface BsqDatabase {
  /** Compiles a statement. */
  prepare(sql: string): BsqStatement;
  /** Runs statements without parameters or results. */
  exec(sql: string): unknown;
  /** Closes the database. */
  close(): unknown;
}

/** better-sqlite3's `Database` class, as far as this driver uses it. */
export type BsqConstructor = new (path: string) => BsqDatabase;

/** Primary result codes by the name better-sqlite3 puts in `err.code`. */
const PRIMARY_CODES: Record<string, number> = {
  ERROR: 1,
  INTERNAL: 2,
  PERM: 3,
  ABORT: 4,
  BUSY: 5,
  LOCKED: 6,
  NOMEM: 7,
  READONLY: 8,
  INTERRUPT: 9,
  IOERR: 10,
  CORRUPT: 11,
  NOTFOUND: 12,
  FULL: 13,
  CANTOPEN: 14,
  PROTOCOL: 15,
  EMPTY: 16,
  SCHEMA: 17,
  TOOBIG: 18,
  CONSTRAINT: 19,
  MISMATCH: 20,
  MISUSE: 21,
  NOLFS: 22,
  AUTH: 23,
  FORMAT: 24,
  RANGE: 25,
  NOTADB: 26,
};

function toSqliteError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof SqliteError) return err;
  const name = (err as { code?: unknown }).code;
  if (typeof name !== "string" || !name.startsWith("SQLITE_")) return err;
  const primary = name.slice(7).split("_")[0];
  return new SqliteError(PRIMARY_CODES[primary] ?? 1, err.message);
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toSqliteError(err);
  }
}

/**
 * better-sqlite3 binds `?NNN` parameters only by name (an object keyed `1`,
 * `2`, …), never by position; the store's SQL numbers its parameters.
 */
function numbered(params: unknown[]): [Record<string, unknown>] {
  const named: Record<string, unknown> = {};
  for (let i = 0; i < params.length; i++) named[i + 1] = params[i];
  return [named];
}

/** Node `Buffer` blobs become plain `Uint8Array` views of the same bytes. */
function plainRows(rows: Record<string, unknown>[]): Row[] {
  for (const row of rows) {
    for (const key in row) {
      const v = row[key];
      if (v !== null && typeof v === "object" && v.constructor !== Uint8Array) {
        const b = v as Uint8Array;
        row[key] = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      }
    }
  }
  return rows as Row[];
}

class BsqAdapter implements Statement {
  #stmt: BsqStatement;
  #numbered: boolean;

  constructor(stmt: BsqStatement, sql: string) {
    this.#stmt = stmt;
    this.#numbered = /\?\d/.test(sql);
  }

  #bind(params: SqlValue[]): unknown[] {
    const values = integersAsBigInt(params);
    return this.#numbered && values.length > 0 ? numbered(values) : values;
  }

  run(...params: SqlValue[]): number {
    return wrap(() => Number(this.#stmt.run(...this.#bind(params)).changes));
  }

  get(...params: SqlValue[]): Row | undefined {
    return this.all(...params)[0];
  }

  all(...params: SqlValue[]): Row[] {
    return wrap(() => {
      if (!this.#stmt.reader) {
        this.#stmt.run(...this.#bind(params));
        return [];
      }
      return plainRows(this.#stmt.all(...this.#bind(params)));
    });
  }
}

/**
 * Builds the driver's `OpenConnection` from better-sqlite3's `Database`.
 *
 * @param Database better-sqlite3's default export.
 * @returns An `OpenConnection` reporting the driver name `better-sqlite3`.
 */
export function betterSqlite3Driver(Database: BsqConstructor): OpenConnection {
  return (options) => {
    const db = wrap(() => new Database(options.path));
    wrap(() => db.exec("PRAGMA busy_timeout = 5000"));
    const version = wrap(() =>
      db.prepare("SELECT sqlite_version() AS v").all()[0].v as string
    );
    const connection: Connection = {
      driver: "better-sqlite3",
      sqliteVersion: version,
      exec: (sql) => void wrap(() => db.exec(sql)),
      prepare: (sql) => wrap(() => new BsqAdapter(db.prepare(sql), sql)),
      close: () => void wrap(() => db.close()),
    };
    return connection;
  };
}

/**
 * Imports better-sqlite3 (an optional dependency) and returns its driver.
 *
 * @returns The `OpenConnection` of the better-sqlite3 driver.
 * @throws {Error} when better-sqlite3 is not installed or cannot load (Deno).
 */
export async function loadBetterSqlite3(): Promise<OpenConnection> {
  // A computed specifier keeps bundlers and `deno check` from requiring the
  // package: it is optional, and absent from Deno's module graph.
  const specifier = ["better", "sqlite3"].join("-");
  let mod: { default: BsqConstructor };
  try {
    mod = await import(specifier);
  } catch (err) {
    throw new Error(
      `The better-sqlite3 driver cannot load better-sqlite3 12 (install it with "npm install better-sqlite3@12", or use Node 22.13+ for node:sqlite): ${
        (err as Error).message
      }`,
      { cause: err },
    );
  }
  return betterSqlite3Driver(mod.default);
}

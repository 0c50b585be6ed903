/**
 * The `node:sqlite` driver: a thin adapter from `DatabaseSync` to the
 * connection port. Works in Deno 2.x (SQLite 3.53 bundled) and Node 22.13+.
 *
 * `get()` reads every row and keeps the first, so no statement is ever left
 * mid-step: an unfinished `UPDATE … RETURNING` pins the WAL and stops
 * checkpoints (see `shared/MEASURED.md`, beside the checkout).
 *
 * @example
 * ```ts
 * import { openNodeSqlite } from "./node_sqlite.ts";
 *
 * const db = openNodeSqlite({ path: ":memory:" });
 * console.log(db.prepare("SELECT 1 + 1 AS two").get()); // { two: 2 }
 * db.close();
 * ```
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  type Connection,
  type OpenConnection,
  type Row,
  SqliteError,
  type SqlValue,
  type Statement,
} from "../connection.ts";
import { integersAsBigInt } from "./_bind.ts";

/**
 * `node:sqlite` errors carry no result code in Deno (only
 * `ERR_SQLITE_ERROR`), so the primary code is recovered from SQLite's
 * fixed error strings; an `errcode` property wins where the runtime sets one.
 */
const MESSAGE_CODES: [RegExp, number][] = [
  [/database is locked/, 5],
  [/(database table|database schema) is locked/, 6],
  [/out of memory/, 7],
  [/readonly database/, 8],
  [/interrupted/, 9],
  [/disk I\/O error/, 10],
  [/malformed/, 11],
  [/database or disk is full/, 13],
  [/unable to open database/, 14],
  [/constraint failed/, 19],
  [/datatype mismatch/, 20],
];

function toSqliteError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof SqliteError) return err;
  const errcode = (err as { errcode?: unknown }).errcode;
  let code = typeof errcode === "number" ? errcode : 1;
  if (typeof errcode !== "number") {
    for (const [pattern, c] of MESSAGE_CODES) {
      if (pattern.test(err.message)) {
        code = c;
        break;
      }
    }
  }
  return new SqliteError(code, err.message);
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toSqliteError(err);
  }
}

class NodeStatement implements Statement {
  #stmt: StatementSync;

  constructor(stmt: StatementSync) {
    this.#stmt = stmt;
  }

  run(...params: SqlValue[]): number {
    return wrap(() =>
      Number(this.#stmt.run(...integersAsBigInt(params)).changes)
    );
  }

  get(...params: SqlValue[]): Row | undefined {
    return wrap(() =>
      this.#stmt.all(...integersAsBigInt(params))[0] as Row | undefined
    );
  }

  all(...params: SqlValue[]): Row[] {
    return wrap(() => this.#stmt.all(...integersAsBigInt(params)) as Row[]);
  }
}

/**
 * Opens a database with `node:sqlite`. Needs read and write permission on
 * the database path (and its `-wal` and `-shm` files).
 *
 * @param options Where the database lives.
 * @returns An open connection.
 * @throws {SqliteError} when the file cannot be opened.
 */
export const openNodeSqlite: OpenConnection = (options) => {
  const db = wrap(() => new DatabaseSync(options.path));
  // Even reading the version loads the schema, which fails at once with
  // SQLITE_BUSY while another process holds the file (say, switching it to
  // WAL) unless a busy timeout is set; callers may change it.
  wrap(() => db.exec("PRAGMA busy_timeout = 5000"));
  const version = wrap(() =>
    db.prepare("SELECT sqlite_version() AS v").all()[0].v as string
  );
  const connection: Connection = {
    driver: "node:sqlite",
    sqliteVersion: version,
    exec: (sql) => wrap(() => db.exec(sql)),
    prepare: (sql) => wrap(() => new NodeStatement(db.prepare(sql))),
    close: () => wrap(() => db.close()),
  };
  return connection;
};

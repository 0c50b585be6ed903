/**
 * The PostgreSQL store's connection to its database: the pool, statements
 * prepared once per connection, transactions and savepoints, error mapping,
 * and the notices to other servers. The store's operations
 * (`insert_ops.ts`, `lease_ops.ts`, `admin_ops.ts`) run through it.
 *
 * @module
 */

import type pg from "pg";
import {
  BusyError,
  ConflictError,
  IntentBusError,
  StorageFullError,
  ValidationError,
} from "../../core/errors.ts";
import type { Row } from "../rows.ts";
import type { GoalWatch } from "./goal_watch.ts";

/** SQLSTATEs that mean "try again": serialization, deadlock, lock, overload, restart. */
const RETRYABLE = new Set([
  "40001",
  "40P01",
  "55P03",
  "53300",
  "57P01",
  "57P02",
  "57P03",
]);

/** Socket errors that mean the database cannot be reached right now. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
]);

/**
 * Turns PostgreSQL and socket errors into the named errors callers catch:
 * a unique violation is a {@linkcode ConflictError}; text with a NUL
 * character a {@linkcode ValidationError}; a deadlock, a
 * serialization failure, overload, an unreachable server, or a statement
 * or connection that timed out a {@linkcode BusyError} (503 with
 * `Retry-After`).
 *
 * @param err Anything thrown.
 * @returns The error to surface.
 */
export function mapPgError(err: unknown): unknown {
  if (err instanceof IntentBusError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string") {
    return /Connection terminated|timeout exceeded when trying to connect|Query read timeout/
        .test(err.message)
      ? new BusyError(`Database unavailable: ${err.message}`)
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
  if (UNREACHABLE.has(code)) {
    return new BusyError(`Database unavailable: ${err.message}`);
  }
  return err;
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === "Query read timeout";
}

/** What a statement returns (typed here: the npm build packs without `@types/pg`). */
export interface Result {
  rows: Row[];
  rowCount: number | null;
}

/** Something that runs queries: the pool, or one client inside a transaction. */
export type Db = pg.Pool | pg.PoolClient;

/** See the module doc. */
export class PgConnection {
  /** The pool every statement runs on. */
  readonly pool: pg.Pool;
  /** This store's notices: its id, channel and listener. */
  readonly watch: GoalWatch;
  #names = new Map<string, string>();

  /**
   * @param pool A `pg` pool whose connections see the migrated schema.
   * @param watch The store's {@linkcode GoalWatch}.
   */
  constructor(pool: pg.Pool, watch: GoalWatch) {
    this.pool = pool;
    this.watch = watch;
  }

  /** Runs one statement, prepared once per connection (a named statement). */
  async q(db: Db, text: string, values: unknown[] = []): Promise<Result> {
    let name = this.#names.get(text);
    if (name === undefined) {
      name = `intentbus_${this.#names.size}`;
      this.#names.set(text, name);
    }
    try {
      return await db.query({ name, text, values }) as Result;
    } catch (err) {
      throw mapPgError(err);
    }
  }

  /** Runs `fn` in one transaction on one pooled connection. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw mapPgError(err);
    }
    let broken = false;
    try {
      await c.query("BEGIN");
      const result = await fn(c);
      await c.query("COMMIT");
      return result;
    } catch (err) {
      // A statement that timed out leaves the connection waiting for its
      // answer: drop it rather than queue a ROLLBACK behind that.
      broken = isTimeout(err);
      if (!broken) {
        try {
          await c.query("ROLLBACK");
        } catch {
          broken = true;
        }
      }
      throw mapPgError(err);
    } finally {
      c.release(broken);
    }
  }

  /** Runs `fn` in a savepoint of the transaction on `c`; a throw undoes only it. */
  async savepoint<T>(c: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
    await c.query("SAVEPOINT item");
    try {
      const result = await fn();
      await c.query("RELEASE item");
      return result;
    } catch (err) {
      if (!isTimeout(err)) { // else the transaction's catch drops the connection
        await c.query("ROLLBACK TO item");
        await c.query("RELEASE item");
      }
      throw mapPgError(err);
    }
  }

  /** Within a transaction: tells the other servers that a goal has work. */
  async notify(c: Db, namespace: string, goal: string): Promise<void> {
    await this.q(c, `SELECT pg_notify($1, $2)`, [
      this.watch.channel,
      `${this.watch.sender}\n${namespace}\n${goal}`,
    ]);
  }
}

/**
 * The PostgreSQL store's connection to its database: the pool, statements
 * prepared once per connection, transactions and savepoints, error mapping
 * (`pg_errors.ts`, re-exported here), and the notices to other servers.
 * The store's operations
 * (`insert_ops.ts`, `lease_ops.ts`, `admin_ops.ts`) run through it.
 *
 * @module
 */

import type pg from "pg";
import { mapPgError, TransactionLostError } from "./pg_errors.ts";
import type { Row } from "../rows.ts";
import type { GoalWatch } from "./goal_watch.ts";

export { mapPgError, TransactionLostError };

function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === "Query read timeout";
}

/** A connection checked out of the pool by {@linkcode checkOut}. */
export interface CheckedOut {
  /** The connection. */
  readonly client: pg.PoolClient;
  /** The error the connection emitted while out (it is then unusable), or null. */
  readonly lost: Error | null;
  /**
   * Gives the connection back, or ends it when `drop` or when it was lost.
   *
   * @param drop End it even if not lost (a statement timed out on it).
   */
  release(drop?: boolean): void;
}

/**
 * Checks a connection out of `pool` with an "error" listener for as long
 * as it is out. `pg` emits "error" on a connection that fails (the server
 * ends the session: a restart, `pg_terminate_backend`; a reset socket),
 * also between the statements of a transaction, and the pool listens only
 * to idle ones: with no listener of ours, the emit would throw and end the
 * process. A lost connection is released with its error, so that the pool
 * ends it instead of handing it out again.
 *
 * @param pool The pool.
 * @returns The checked-out connection; release it once, in a `finally`.
 */
export function checkOut(pool: pg.Pool): Promise<CheckedOut> {
  // The callback, not the promise: the pool calls it in the same tick as it
  // removes its own listener, while a promise's continuation would run only
  // after the ticks already queued, one of which may emit the error.
  return new Promise((resolve, reject) => {
    // Typed here: the npm build packs without `@types/pg`.
    pool.connect((err: Error | undefined, client?: pg.PoolClient) => {
      if (err || client === undefined) return reject(mapPgError(err));
      let lost: Error | null = null;
      // Whatever is emitted (even nothing), the connection is lost.
      const onError = (e?: Error) =>
        void (lost ??= e ?? new Error("Connection terminated unexpectedly"));
      client.on("error", onError);
      resolve({
        client,
        get lost() {
          return lost;
        },
        release(drop = false) {
          // The pool puts its own listener back in `release`, before
          // anything else can be emitted.
          client.removeListener("error", onError);
          client.release(lost ?? drop);
        },
      });
    });
  });
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

  /**
   * Runs `fn` on one connection of the pool, checked out with an "error"
   * listener ({@linkcode checkOut}); a statement that fails because the
   * connection was lost throws the error that ended it.
   */
  async client<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const out = await checkOut(this.pool);
    let drop = false;
    try {
      return await fn(out.client);
    } catch (err) {
      drop = isTimeout(err);
      throw mapPgError(out.lost ?? err);
    } finally {
      out.release(drop);
    }
  }

  /** Runs `fn` in one transaction on one pooled connection. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const out = await checkOut(this.pool);
    const c = out.client;
    let drop = false;
    try {
      await c.query("BEGIN");
      const result = await fn(c);
      await c.query("COMMIT");
      return result;
    } catch (err) {
      // A statement that timed out on the client leaves the connection
      // waiting for its answer, and a lost one takes nothing: drop it
      // rather than queue a ROLLBACK (PostgreSQL rolls back what it ends).
      drop = out.lost !== null || isTimeout(err);
      if (!drop) {
        try {
          await c.query("ROLLBACK");
        } catch {
          drop = true;
        }
      }
      throw mapPgError(out.lost ?? err);
    } finally {
      out.release(drop);
    }
  }

  /**
   * Runs `fn` in a savepoint of the transaction on `c`; a throw undoes
   * only it, unless it ends the whole transaction (a
   * {@linkcode TransactionLostError}: a lost connection, a timeout), which
   * is thrown as is for the transaction to fail.
   */
  async savepoint<T>(c: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
    try {
      await c.query("SAVEPOINT item");
    } catch (err) {
      throw mapPgError(err);
    }
    try {
      const result = await fn();
      await c.query("RELEASE item");
      return result;
    } catch (err) {
      const mapped = mapPgError(err);
      if (mapped instanceof TransactionLostError) throw mapped;
      try {
        await c.query("ROLLBACK TO item");
        await c.query("RELEASE item");
      } catch (undo) {
        // The transaction cannot go on: it fails whole.
        throw new TransactionLostError(
          `Database unavailable: ${
            (undo as Error)?.message
          }, undoing an item that failed with: ${(err as Error)?.message}`,
          undo,
        );
      }
      throw mapped;
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

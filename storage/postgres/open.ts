/**
 * Opening a PostgreSQL store: a pool on the URL, an optional schema, and
 * the migrations.
 *
 * @module
 */

import pg from "pg";
import { migratePg } from "./migrations.ts";
import type { Storage } from "../storage.ts";
import { checkOut, mapPgError } from "./connection.ts";
import { PostgresStore } from "./store.ts";

/** Where and how to connect. */
export interface PostgresStoreOptions {
  /**
   * `postgres://user:password@host:port/database` (libpq's URL form). Over
   * TLS add `?sslmode=verify-full` (with `&sslrootcert=/path/ca.crt` for a
   * CA of your own), or `?sslmode=require` to encrypt without checking the
   * certificate; `sslmode` means what it means to psql.
   */
  url: string;
  /**
   * The schema to keep the tables in, created when missing; the server's
   * default search path (normally `public`) when omitted. Lowercase
   * letters, digits and underscores.
   */
  schema?: string;
  /** Most connections this process opens (default 16). */
  poolSize?: number;
  /**
   * How long a statement, or opening a connection, may take before the
   * call fails with a `BusyError` (503), ms; default 30,000. PostgreSQL
   * cancels such a statement itself (`statement_timeout`) and rolls its
   * transaction back, so a call that timed out wrote nothing, and its
   * connection serves again. A database that stops answering (a network
   * partition, a frozen host) costs a request 1 s more, not forever; the
   * connection is dropped and a new one opened once the database answers
   * again. A session of this store idle inside a transaction for this long
   * is ended by PostgreSQL, so that a server that froze mid-transaction
   * does not keep its locks.
   */
  timeoutMs?: number;
}

/** How much longer the client waits for an answer than the server's timeout. */
const BACKSTOP_MS = 1000;

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

const LIBPQ_SSL_MODES = ["disable", "prefer", "require", "verify-ca"];

/**
 * Gives the URL's `sslmode` the meaning it has for libpq and psql, so that a
 * URL that works there works here: `require` encrypts without checking the
 * certificate, `verify-ca` checks it against `sslrootcert`, `verify-full`
 * also checks the host name. Without this, `pg` 8 takes `require` and
 * `verify-ca` as `verify-full` and prints a warning.
 */
function libpqSslModes(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const mode = params.get("sslmode");
  if (
    mode === null || !LIBPQ_SSL_MODES.includes(mode) ||
    params.has("uselibpqcompat")
  ) {
    return url;
  }
  return `${url}&uselibpqcompat=true`;
}

/**
 * Connects, creates the schema if asked, migrates, and returns the store.
 * Servers started together against one database migrate once.
 *
 * @example
 * ```ts ignore
 * import { openPostgresStore } from "./open.ts";
 *
 * const store = await openPostgresStore({ url: "postgres://bus@127.0.0.1/bus" });
 * console.log(store.name); // "postgres"
 * await store.close();
 * ```
 *
 * @param options See {@linkcode PostgresStoreOptions}.
 * @returns The open store.
 */
export async function openPostgresStore(
  options: PostgresStoreOptions,
): Promise<Storage> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA.test(schema)) {
    throw new RangeError(`Invalid schema name: "${schema}"`);
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new RangeError(`Invalid timeoutMs: ${timeoutMs}`);
  }
  const config = {
    connectionString: libpqSslModes(options.url),
    // PostgreSQL itself cancels a statement that runs longer than the
    // timeout, and its transaction rolls back: a 503 then means nothing was
    // done, and the connection goes back to the pool. A session idle inside
    // a transaction as long belongs to a server that froze (a suspended
    // host): PostgreSQL ends it, and the locks it held go to the others.
    options: [
      ...(schema === undefined ? [] : [`-c search_path=${schema}`]),
      `-c statement_timeout=${timeoutMs}`,
      `-c idle_in_transaction_session_timeout=${timeoutMs}`,
    ].join(" "),
    application_name: "intentbus",
    connectionTimeoutMillis: timeoutMs,
    // The backstop, for a database that does not answer at all (a
    // partition): a little later than PostgreSQL's own timeout, so that a
    // database that answers always cancels first.
    query_timeout: timeoutMs + BACKSTOP_MS,
    // Finds a peer gone while the connection is idle (the listener's).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
  const pool = new pg.Pool({ ...config, max: options.poolSize ?? 16 });
  // An idle connection the server drops (restart, network) is replaced on
  // the next query; without a listener the pool's "error" event would end
  // the process.
  pool.on("error", () => {});
  try {
    const out = await checkOut(pool);
    try {
      await migratePg(out.client, schema);
    } catch (err) {
      throw out.lost ?? err;
    } finally {
      out.release();
    }
  } catch (err) {
    await pool.end();
    throw mapPgError(err);
  }
  return new PostgresStore(
    pool,
    () => new pg.Client({ ...config, application_name: "intentbus-listen" }),
    schema,
    Math.min(15_000, timeoutMs),
  );
}

/**
 * Opening a PostgreSQL store: a pool on the URL, an optional schema, and
 * the migrations.
 *
 * @module
 */

import pg from "pg";
import { migratePg } from "./migrations.ts";
import type { Storage } from "../storage.ts";
import { mapPgError } from "./connection.ts";
import { PostgresStore } from "./store.ts";

/** Where and how to connect. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (libpq's URL form). */
  url: string;
  /**
   * The schema to keep the tables in, created when missing; the server's
   * default search path (normally `public`) when omitted. Lowercase
   * letters, digits and underscores.
   */
  schema?: string;
  /** Most connections this process opens (default 16). */
  poolSize?: number;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

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
  const config = {
    connectionString: options.url,
    options: schema === undefined ? undefined : `-c search_path=${schema}`,
    application_name: "intentbus",
  };
  const pool = new pg.Pool({ ...config, max: options.poolSize ?? 16 });
  // An idle connection the server drops (restart, network) is replaced on
  // the next query; without a listener the pool's "error" event would end
  // the process.
  pool.on("error", () => {});
  try {
    const client = await pool.connect();
    try {
      await migratePg(client, schema);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end();
    throw mapPgError(err);
  }
  return new PostgresStore(pool, () => new pg.Client(config), schema);
}

/**
 * Opens the store a server runs on, chosen by its location: a
 * `postgres://` URL opens the PostgreSQL store (loaded only then, so a
 * SQLite server never loads the `pg` package), anything else is a SQLite
 * file.
 *
 * @example
 * ```ts
 * import { openStore } from "./open_store.ts";
 *
 * const { store, logged } = await openStore({ location: ":memory:" });
 * console.log(store.name.startsWith("sqlite:"), logged.path); // true ":memory:"
 * await store.close();
 * ```
 *
 * @module
 */

import type { Storage } from "../storage/storage.ts";

/** Where the queue lives and how to open it. */
export interface OpenStoreOptions {
  /** A SQLite file path, or a `postgres://` URL. */
  location: string;
  /**
   * SQLite: the driver; default `chooseDriver()`'s pick, logged with its
   * reason as `driverChoice`.
   */
  driver?: string;
  /** SQLite: `normal` (default) or `full`. */
  durability?: "normal" | "full";
  /** SQLite: where WAL checkpoints run. */
  checkpoint?: "thread" | "inline";
  /** PostgreSQL: most connections (default 16). */
  poolSize?: number;
  /** PostgreSQL: the schema to keep the tables in (created when missing). */
  schema?: string;
  /** PostgreSQL: how long a statement or connection may take, ms (30,000). */
  timeoutMs?: number;
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/** Query parameters of a PostgreSQL URL that `pg` reads as secrets. */
const SECRET_PARAMS = ["password", "sslpassword", "sslkey"];

/**
 * A store location fit for logs: a file path as it is, a PostgreSQL URL
 * with its password replaced by `***`, in the user part or the query
 * (`?password=`, which `pg` reads too).
 *
 * @param location A SQLite path or a `postgres://` URL.
 * @returns The location, safe to print.
 */
export function redactLocation(location: string): string {
  if (!POSTGRES_URL.test(location)) return location;
  try {
    const u = new URL(location);
    if (u.password) u.password = "***";
    for (const [name] of [...u.searchParams]) {
      if (SECRET_PARAMS.includes(name.toLowerCase())) {
        u.searchParams.set(name, "***");
      }
    }
    return u.toString();
  } catch {
    return "postgres://…";
  }
}

/** The spellings of one secret: as written, percent-decoded, re-encoded. */
function spellings(raw: string): string[] {
  const all = new Set([raw]);
  try {
    const plain = decodeURIComponent(raw);
    all.add(plain);
    all.add(encodeURIComponent(plain));
    // As a URL parser writes it back: in the user part, and in a query.
    const u = new URL("postgres://h");
    u.password = plain;
    all.add(u.password);
    all.add(new URLSearchParams({ v: plain }).toString().slice(2));
  } catch {
    // Not percent-encoded text: the raw form is enough.
  }
  return [...all].filter((s) => s !== "");
}

/**
 * The secrets of a PostgreSQL URL, read without a URL parser (the URL may
 * be one it refuses): the password of the user part, and the values of
 * `?password=` and the like, each in every spelling, longest first.
 */
function secretsOf(location: string): { user: string[]; query: string[] } {
  const user: string[] = [];
  const query: string[] = [];
  const scheme = POSTGRES_URL.exec(location);
  if (!scheme) return { user, query };
  const rest = location.slice(scheme[0].length);
  const q = rest.indexOf("?");
  const authority = q === -1 ? rest : rest.slice(0, q);
  const colon = authority.indexOf(":");
  // A password may hold a `?` unencoded: then the user part ends at the
  // last `@` of the whole URL, not of what precedes its first `?`.
  for (const part of new Set([authority, rest])) {
    const at = part.lastIndexOf("@");
    if (at !== -1 && colon !== -1 && colon < at) {
      user.push(...spellings(part.slice(colon + 1, at)));
    }
  }
  if (q !== -1) {
    for (const pair of rest.slice(q + 1).split("&")) {
      const eq = pair.indexOf("=");
      if (eq === -1) continue;
      const name = pair.slice(0, eq).toLowerCase();
      if (SECRET_PARAMS.includes(name)) {
        query.push(...spellings(pair.slice(eq + 1)));
      }
    }
  }
  const longestFirst = (a: string, b: string) => b.length - a.length;
  return { user: user.sort(longestFirst), query: query.sort(longestFirst) };
}

const escapeRegExp = (text: string) =>
  text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * An error message fit for logs: a PostgreSQL URL's password replaced by
 * `***` where the message quotes the URL (as given or parsed, percent-encoded
 * or decoded): in its user part (`:password@`) and in its query
 * (`password=`, `sslpassword=`, `sslkey=`). The password elsewhere in the
 * message is left alone, so a one-letter password does not blank that
 * letter out of every word.
 *
 * @example
 * ```ts
 * import { redactMessage } from "./open_store.ts";
 *
 * const url = "postgres://u:hunter2@[bad/db";
 * console.log(redactMessage(`Invalid URL: '${url}'`, url));
 * // Invalid URL: 'postgres://u:***@[bad/db'
 * ```
 *
 * @param message The message, as thrown.
 * @param location The SQLite path or `postgres://` URL being opened.
 * @returns The message, safe to print.
 */
export function redactMessage(message: string, location: string): string {
  const { user, query } = secretsOf(location);
  let out = message;
  for (const secret of user) out = out.split(`:${secret}@`).join(":***@");
  if (query.length > 0) {
    const names = SECRET_PARAMS.join("|");
    const values = query.map(escapeRegExp).join("|");
    out = out.replace(
      new RegExp(`(\\b(?:${names})=)(?:${values})`, "gi"),
      "$1***",
    );
  }
  return out;
}

/**
 * The error to show for a failed import of the PostgreSQL store: when the
 * `pg` package is missing (an install with `--omit=optional`, as
 * `termux/install.sh` makes for SQLite), one saying how to install it;
 * anything else as it is.
 *
 * @example
 * ```ts
 * import { pgImportError } from "./open_store.ts";
 *
 * const err = Object.assign(
 *   new Error("Cannot find package 'pg' imported from /app/open.js"),
 *   { code: "ERR_MODULE_NOT_FOUND" },
 * );
 * console.log((pgImportError(err) as Error).message.split(" (")[0]);
 * // The PostgreSQL store needs the pg package: npm install pg
 * ```
 *
 * @param err What importing the store threw.
 * @returns The error to throw instead.
 */
export function pgImportError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : "";
  const notFound = code === "ERR_MODULE_NOT_FOUND" ||
    code === "MODULE_NOT_FOUND" ||
    /^Cannot find (package|module) /.test(message);
  if (!notFound || !/['"]pg['"]/.test(message)) return err;
  return new Error(
    `The PostgreSQL store needs the pg package: npm install pg (${message})`,
    { cause: err },
  );
}

/**
 * Opens the store.
 *
 * @param options See {@linkcode OpenStoreOptions}.
 * @returns The store, and what to log about it (no password).
 */
export async function openStore(
  options: OpenStoreOptions,
): Promise<{ store: Storage; logged: Record<string, unknown> }> {
  if (POSTGRES_URL.test(options.location)) {
    const pg = await import("../storage/postgres/mod.ts").catch((err) => {
      throw pgImportError(err);
    });
    const store = await pg.openPostgresStore({
      url: options.location,
      poolSize: options.poolSize,
      schema: options.schema,
      timeoutMs: options.timeoutMs,
    });
    return {
      store,
      logged: {
        url: redactLocation(options.location),
        store: store.name,
        schema: options.schema ?? null,
      },
    };
  }
  const [{ openSqliteStore }, { chooseDriver }] = await Promise.all([
    import("../storage/sqlite/mod.ts"),
    import("../storage/sqlite/drivers/mod.ts"),
  ]);
  // Picked here rather than inside the store, to log why (a better-sqlite3
  // that does not load makes Node 22.13+ fall back to node:sqlite).
  const choice = options.driver === undefined ? chooseDriver() : undefined;
  const store = await openSqliteStore({
    path: options.location,
    driver: options.driver ?? choice?.driver,
    durability: options.durability,
    checkpoint: options.checkpoint,
  });
  return {
    store,
    logged: {
      path: options.location,
      store: store.name,
      driver: store.db.driver,
      ...(choice ? { driverChoice: choice.reason } : {}),
      sqlite: store.db.sqliteVersion,
    },
  };
}

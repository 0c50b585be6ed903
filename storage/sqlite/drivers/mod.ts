/**
 * The registry of SQLite drivers. Each is loaded lazily with a dynamic
 * import, so a runtime missing one binding (no FFI permission, no
 * `node:sqlite` in Node 20) can still use the others.
 *
 * @example
 * ```ts
 * import { loadDriver } from "./mod.ts";
 *
 * const open = await loadDriver("node:sqlite");
 * const db = open({ path: ":memory:" });
 * db.close();
 * ```
 *
 * @module
 */

import type { OpenConnection } from "../connection.ts";

/** Driver name → loader of its `OpenConnection`. */
export const DRIVERS: Record<string, () => Promise<OpenConnection>> = {
  "ffi": async () => (await import("./ffi.ts")).openFfi,
  "node:sqlite": async () => (await import("./node_sqlite.ts")).openNodeSqlite,
};

/**
 * The driver used when none is named: `node:sqlite`. It needs no
 * `--allow-ffi` (FFI bypasses Deno's permission sandbox), no system
 * libsqlite3, and runs unchanged on Node 22.13+. FFI measured 5–35% faster
 * per store operation in bench/storage_bench.ts (claims included, once the
 * claim's LIMIT stopped being a bound parameter); pass `driver: "ffi"` for
 * that margin.
 *
 * @returns A key of {@linkcode DRIVERS}.
 */
export function defaultDriver(): string {
  return "node:sqlite";
}

/**
 * Loads a driver by name.
 *
 * @param name A key of {@linkcode DRIVERS}.
 * @returns The driver's `OpenConnection`.
 * @throws {RangeError} when no driver has that name.
 */
export async function loadDriver(name: string): Promise<OpenConnection> {
  const load = DRIVERS[name];
  if (!load) {
    throw new RangeError(
      `Unknown SQLite driver: "${name}" (known: ${
        Object.keys(DRIVERS).join(", ")
      })`,
    );
  }
  return await load();
}

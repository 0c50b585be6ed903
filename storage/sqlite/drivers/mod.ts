/**
 * The registry of SQLite drivers. Each is loaded lazily with a dynamic
 * import, so a runtime missing one binding (no FFI permission, no
 * `node:sqlite` in Node 20, no better-sqlite3 installed) can still use the
 * others. {@linkcode defaultDriver} picks per runtime.
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

import { createRequire } from "node:module";
import process from "node:process";
import type { OpenConnection } from "../connection.ts";

export type {
  Connection,
  OpenConnection,
  OpenOptions,
  Row,
  SqlValue,
  Statement,
} from "../connection.ts";

/** Whether this process is Deno (a Node shim may define a partial `Deno`). */
export const IS_DENO: boolean = typeof (globalThis as {
  Deno?: { version?: { deno?: unknown } };
}).Deno?.version?.deno === "string";

/**
 * Driver name → loader of its `OpenConnection`, for the drivers this runtime
 * can load: `ffi` and `node:sqlite` on Deno; `better-sqlite3` and
 * `node:sqlite` on Node (better-sqlite3 is a Node addon Deno cannot load;
 * FFI is Deno's).
 */
export const DRIVERS: Record<string, () => Promise<OpenConnection>> = IS_DENO
  ? {
    "ffi": async () => (await import("./ffi.ts")).openFfi,
    "node:sqlite": async () =>
      (await import("./node_sqlite.ts")).openNodeSqlite,
  }
  : {
    "better-sqlite3": async () =>
      await (await import("./better_sqlite3.ts")).loadBetterSqlite3(),
    "node:sqlite": async () =>
      (await import("./node_sqlite.ts")).openNodeSqlite,
  };

function hasBetterSqlite3(): boolean {
  try {
    createRequire(import.meta.url).resolve("better-sqlite3");
    return true;
  } catch {
    return false;
  }
}

function hasNodeSqlite(): boolean {
  const get = (process as { getBuiltinModule?: (id: string) => unknown })
    .getBuiltinModule;
  try {
    return get?.("node:sqlite") !== undefined;
  } catch {
    return false;
  }
}

/**
 * The driver used when none is named. On Deno: `node:sqlite`. It needs no
 * `--allow-ffi` (FFI bypasses Deno's permission sandbox), no system
 * libsqlite3, and runs unchanged on Node 22.13+. FFI measured 5–35% faster
 * per store operation in bench/storage_bench.ts (claims included, once the
 * claim's LIMIT stopped being a bound parameter); pass `driver: "ffi"` for
 * that margin. On Node: `better-sqlite3` when installed (the faster binding
 * in `shared/MEASURED.md`, and the only one on Node 20), else `node:sqlite`.
 *
 * @returns A key of {@linkcode DRIVERS}.
 */
export function defaultDriver(): string {
  if (IS_DENO) return "node:sqlite";
  if (hasBetterSqlite3()) return "better-sqlite3";
  return hasNodeSqlite() ? "node:sqlite" : "better-sqlite3";
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

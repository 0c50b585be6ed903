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
 * FFI is Deno's). The better-sqlite3 loader first checks that its native
 * addon loads, and fails with {@linkcode betterSqlite3Hint} when not.
 */
export const DRIVERS: Record<string, () => Promise<OpenConnection>> = IS_DENO
  ? {
    "ffi": async () => (await import("./ffi.ts")).openFfi,
    "node:sqlite": async () =>
      (await import("./node_sqlite.ts")).openNodeSqlite,
  }
  : {
    "better-sqlite3": async () => {
      const err = betterSqlite3LoadError();
      if (err !== undefined) throw betterSqlite3Hint(err);
      return await (await import("./better_sqlite3.ts")).loadBetterSqlite3();
    },
    "node:sqlite": async () => {
      try {
        return (await import("./node_sqlite.ts")).openNodeSqlite;
      } catch (cause) {
        if (hasNodeSqlite()) throw cause;
        throw new Error(
          `node:sqlite needs Node 22.13 or later (this is Node ${process.version}): use --driver better-sqlite3, or a newer Node`,
          { cause },
        );
      }
    },
  };

const probed = new Map<string, { error: unknown }>();

/**
 * Whether better-sqlite3 really loads, as resolved from `from`: it is
 * required and an in-memory database opened and closed, since its native
 * addon loads only then (an install without its build step, pnpm 10's
 * default, or a build for another Node ABI resolves fine and fails there).
 * The answer is kept per `from`.
 *
 * @example
 * ```ts
 * import { betterSqlite3LoadError } from "./mod.ts";
 *
 * const err = betterSqlite3LoadError(); // under Deno: no better-sqlite3 addon
 * console.log(err === undefined ? "loads" : String(err));
 * ```
 *
 * @param from The file or URL to resolve the package from (this module).
 * @returns `undefined` when it loads, else the error thrown.
 */
export function betterSqlite3LoadError(
  from: string = import.meta.url,
): unknown {
  const known = probed.get(from);
  if (known) return known.error;
  let error: unknown = undefined;
  try {
    // Computed, as in better_sqlite3.ts: the optional package stays out of
    // bundlers' and `deno check`'s module graph.
    const mod = createRequire(from)(["better", "sqlite3"].join("-"));
    const Database = (mod?.default ?? mod) as new (path: string) => {
      close(): unknown;
    };
    new Database(":memory:").close();
  } catch (err) {
    error = err ?? new Error("better-sqlite3 threw nothing");
  }
  probed.set(from, { error });
  return error;
}

/**
 * The error to show when better-sqlite3 cannot load: the cause, and both
 * ways out (rebuild or install it for this Node, or Node 22.13+ with
 * `--driver node:sqlite`).
 *
 * @param cause What loading it threw.
 * @returns An `Error` with that `cause`.
 */
export function betterSqlite3Hint(cause: unknown): Error {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new Error(
    `The better-sqlite3 driver cannot load better-sqlite3: ${message}\n` +
      `Either rebuild it for this Node ("npm rebuild better-sqlite3", or ` +
      `install it: "npm install better-sqlite3@12", with its install ` +
      `scripts), or run on Node 22.13+ with --driver node:sqlite.`,
    { cause },
  );
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

/** The driver picked when none is named, and why. */
export interface DriverChoice {
  /** A key of {@linkcode DRIVERS}. */
  driver: string;
  /** Why, fit for the start-up log. */
  reason: string;
}

/** What {@linkcode chooseDriver} looks at; tests pass their own. */
export interface DriverProbes {
  /** Whether this is Deno. */
  deno: boolean;
  /** `undefined` when better-sqlite3 loads, else what loading it threw. */
  betterSqlite3Error(): unknown;
  /** Whether `node:sqlite` exists (Node 22.13+). */
  nodeSqlite(): boolean;
}

const RUNTIME: DriverProbes = {
  deno: IS_DENO,
  betterSqlite3Error: () => betterSqlite3LoadError(),
  nodeSqlite: hasNodeSqlite,
};

/**
 * Picks the driver used when none is named, with the reason. On Deno:
 * `node:sqlite`. It needs no `--allow-ffi` (FFI bypasses Deno's permission
 * sandbox), no system libsqlite3, and runs unchanged on Node 22.13+. FFI
 * measured 5–35% faster per store operation in bench/storage_bench.ts
 * (claims included, once the claim's LIMIT stopped being a bound
 * parameter); pass `driver: "ffi"` for that margin. On Node:
 * `better-sqlite3` when it loads (the faster binding in
 * `shared/MEASURED.md`, and the only one on Node 20), else `node:sqlite`
 * when this Node has it, else `better-sqlite3` (whose loader then fails
 * with {@linkcode betterSqlite3Hint}).
 *
 * @example
 * ```ts
 * import { chooseDriver } from "./mod.ts";
 *
 * const choice = chooseDriver({
 *   deno: false,
 *   betterSqlite3Error: () => new Error("Could not locate the bindings file"),
 *   nodeSqlite: () => true,
 * });
 * console.log(choice.driver); // "node:sqlite"
 * ```
 *
 * @param probes What the runtime has; default this process.
 * @returns The driver and why.
 */
export function chooseDriver(probes: DriverProbes = RUNTIME): DriverChoice {
  if (probes.deno) {
    return { driver: "node:sqlite", reason: "the default on Deno" };
  }
  const err = probes.betterSqlite3Error();
  if (err === undefined) {
    return { driver: "better-sqlite3", reason: "better-sqlite3 loads" };
  }
  // One line for the log, the cause kept: an ABI mismatch says which
  // NODE_MODULE_VERSION it wants on its third line.
  const text = (err instanceof Error ? err.message : String(err))
    .replace(/\s+/g, " ").trim();
  const why = text.length > 240 ? `${text.slice(0, 239)}…` : text;
  if (probes.nodeSqlite()) {
    return {
      driver: "node:sqlite",
      reason: `better-sqlite3 cannot load (${why})`,
    };
  }
  return {
    driver: "better-sqlite3",
    reason: `better-sqlite3 cannot load (${why}) and this Node has no ` +
      "node:sqlite",
  };
}

/**
 * The driver used when none is named: {@linkcode chooseDriver}'s pick for
 * this process.
 *
 * @returns A key of {@linkcode DRIVERS}.
 */
export function defaultDriver(): string {
  return chooseDriver().driver;
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

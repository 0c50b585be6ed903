/**
 * The Deno FFI driver: the system's `libsqlite3` called through
 * `Deno.dlopen`. This is the only file that touches FFI: a declarative symbol
 * table, one `unwrap()` turning result codes into {@linkcode SqliteError},
 * and a thin statement class. It is longer than our usual file because
 * splitting the unsafe surface would make it harder to audit, not easier.
 *
 * Needs `--allow-ffi` (and `--allow-env` to honour the path variables).
 * Beware: `--allow-ffi` bypasses Deno's permission sandbox. SQLite opens and
 * writes files itself, so a database is created even without
 * `--allow-write`; grant FFI only where you would grant everything.
 *
 * The library is the one named by `INTENTBUS_SQLITE_LIB` (or
 * `DENO_SQLITE_PATH`), else the first found among the usual Debian, Termux
 * and macOS paths. It loads on the first open, once per process.
 *
 * Integers read back as numbers when they are safe integers, else as
 * bigints. Every call resets its statement, so no read pins the WAL, and
 * `get()` on a write (`UPDATE … RETURNING`) steps it to the end, because
 * only a step that finishes runs SQLite's auto-checkpoint (see `shared/MEASURED.md`, beside the checkout).
 *
 * Debian builds SQLite with `SECURE_DELETE` on, which zeroes freed pages and
 * cost about 1.3× the CPU time per insert here. Each connection sets
 * `PRAGMA secure_delete = OFF`, SQLite's upstream default and what
 * `node:sqlite` runs with; set it back on if deleted payloads must not
 * linger in free pages.
 *
 * @example
 * ```ts
 * import { openFfi } from "./ffi.ts";
 *
 * const db = openFfi({ path: ":memory:" });
 * db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
 * db.prepare("INSERT INTO t (name) VALUES (?)").run("ada");
 * console.log(db.prepare("SELECT id, name FROM t").all()); // [{ id: 1, name: "ada" }]
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

const SYMBOLS = {
  sqlite3_libversion: { parameters: [], result: "pointer" },
  sqlite3_open_v2: {
    parameters: ["buffer", "buffer", "i32", "pointer"],
    result: "i32",
  },
  sqlite3_close_v2: { parameters: ["pointer"], result: "i32" },
  sqlite3_errmsg: { parameters: ["pointer"], result: "pointer" },
  sqlite3_errstr: { parameters: ["i32"], result: "pointer" },
  sqlite3_extended_errcode: { parameters: ["pointer"], result: "i32" },
  sqlite3_exec: {
    parameters: ["pointer", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  sqlite3_changes: { parameters: ["pointer"], result: "i32" },
  sqlite3_prepare_v3: {
    parameters: ["pointer", "buffer", "i32", "u32", "buffer", "pointer"],
    result: "i32",
  },
  sqlite3_stmt_readonly: { parameters: ["pointer"], result: "i32" },
  sqlite3_stmt_status: {
    parameters: ["pointer", "i32", "i32"],
    result: "i32",
  },
  sqlite3_next_stmt: { parameters: ["pointer", "pointer"], result: "pointer" },
  sqlite3_step: { parameters: ["pointer"], result: "i32" },
  sqlite3_reset: { parameters: ["pointer"], result: "i32" },
  sqlite3_clear_bindings: { parameters: ["pointer"], result: "i32" },
  sqlite3_finalize: { parameters: ["pointer"], result: "i32" },
  sqlite3_bind_null: { parameters: ["pointer", "i32"], result: "i32" },
  sqlite3_bind_int: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  sqlite3_bind_int64: { parameters: ["pointer", "i32", "i64"], result: "i32" },
  sqlite3_bind_double: { parameters: ["pointer", "i32", "f64"], result: "i32" },
  sqlite3_bind_text: {
    parameters: ["pointer", "i32", "buffer", "i32", "isize"],
    result: "i32",
  },
  sqlite3_bind_blob: {
    parameters: ["pointer", "i32", "buffer", "i32", "isize"],
    result: "i32",
  },
  sqlite3_bind_zeroblob: {
    parameters: ["pointer", "i32", "i32"],
    result: "i32",
  },
  sqlite3_column_count: { parameters: ["pointer"], result: "i32" },
  sqlite3_column_name: { parameters: ["pointer", "i32"], result: "pointer" },
  sqlite3_column_type: { parameters: ["pointer", "i32"], result: "i32" },
  sqlite3_column_int64: { parameters: ["pointer", "i32"], result: "i64" },
  sqlite3_column_double: { parameters: ["pointer", "i32"], result: "f64" },
  sqlite3_column_text: { parameters: ["pointer", "i32"], result: "pointer" },
  sqlite3_column_blob: { parameters: ["pointer", "i32"], result: "pointer" },
  sqlite3_column_bytes: { parameters: ["pointer", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
type Pointer = Deno.PointerObject;

const SQLITE_OK = 0;
const SQLITE_ROW = 100;
const SQLITE_DONE = 101;
const SQLITE_INTEGER = 1;
const SQLITE_FLOAT = 2;
const SQLITE_TEXT = 3;
const SQLITE_BLOB = 4;
/** READWRITE | CREATE | NOMUTEX: one connection is used by one isolate. */
const OPEN_FLAGS = 0x2 | 0x4 | 0x8000;
/** Statements are cached by callers, so ask SQLite to keep them long. */
const SQLITE_PREPARE_PERSISTENT = 0x1;
/** How many times SQLite recompiled a statement after a schema change. */
const SQLITE_STMTSTATUS_REPREPARE = 5;
/** The destructor `SQLITE_TRANSIENT`: SQLite copies the bytes at once. */
const TRANSIENT = -1n;

const encoder = new TextEncoder();
const SECURE_DELETE_OFF = encoder.encode("PRAGMA secure_delete = OFF\0");
const decoder = new TextDecoder();
/** Scratch for bound text: safe to reuse because SQLite copies it. */
let scratch = new Uint8Array(4096);
/** Larger text gets a buffer of its own, so one huge value is not kept. */
const SCRATCH_MAX = 1 << 20;

function scratchFor(bytes: number): Uint8Array {
  if (bytes <= scratch.length) return scratch;
  if (bytes > SCRATCH_MAX) return new Uint8Array(bytes);
  return scratch = new Uint8Array(bytes);
}
const out = new BigUint64Array(1);

/**
 * Where to look for the library, in order. A path named in the environment
 * is the only candidate, so a mistyped one fails loudly instead of quietly
 * loading another SQLite.
 */
function candidatePaths(): string[] {
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // No --allow-env: fall back to the usual paths.
    }
  };
  const named = env("INTENTBUS_SQLITE_LIB") || env("DENO_SQLITE_PATH");
  if (named) return [named];
  const prefix = env("PREFIX");
  return [
    "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0",
    "/usr/lib/aarch64-linux-gnu/libsqlite3.so.0",
    "/usr/lib/libsqlite3.so.0",
    "/usr/lib64/libsqlite3.so.0",
    "/data/data/com.termux/files/usr/lib/libsqlite3.so",
    prefix && `${prefix}/lib/libsqlite3.so`,
    "/opt/homebrew/opt/sqlite/lib/libsqlite3.dylib",
    "/usr/local/opt/sqlite/lib/libsqlite3.dylib",
    "/usr/lib/libsqlite3.dylib",
  ].filter((p): p is string => !!p);
}

let lib: Lib | undefined;

function load(): Lib {
  if (lib) return lib;
  const tried: string[] = [];
  for (const path of candidatePaths()) {
    try {
      lib = Deno.dlopen(path, SYMBOLS).symbols;
      return lib;
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable) throw err;
      // A missing file is expected; any other failure (a library too old to
      // have a symbol) is worth showing.
      const why = String((err as Error).message);
      tried.push(/No such file/.test(why) ? `"${path}"` : `"${path}" (${why})`);
    }
  }
  throw new Error(
    `Cannot load libsqlite3: tried ${tried.join(", ")}; ` +
      "set INTENTBUS_SQLITE_LIB to its path",
  );
}

function cString(ptr: Deno.PointerValue): string {
  return ptr ? Deno.UnsafePointerView.getCString(ptr) : "";
}

/** Passes success codes through; throws a {@linkcode SqliteError} else. */
function unwrap(rc: number, db: Deno.PointerValue): number {
  if (rc === SQLITE_OK || rc === SQLITE_ROW || rc === SQLITE_DONE) return rc;
  const l = lib!;
  let code = rc;
  if (db) {
    const extended = l.sqlite3_extended_errcode(db);
    if ((extended & 0xff) === (rc & 0xff)) code = extended;
  }
  const message = db ? cString(l.sqlite3_errmsg(db)) : "";
  throw new SqliteError(code, message || cString(l.sqlite3_errstr(rc)));
}

/**
 * Decodes `n` bytes of UTF-8 text. `getCString` is several times faster
 * than `TextDecoder` here but stops at a NUL, so its result is kept only
 * when it accounts for all `n` bytes.
 */
function decodeText(text: Pointer, n: number): string {
  const s = Deno.UnsafePointerView.getCString(text);
  if (s.length === n || utf8Length(s) === n) return s;
  const bytes = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(text, n));
  return decoder.decode(bytes);
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is 4 bytes: 1 extra for each half.
    if (c >= 0x80) n += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return n;
}

function encodeZ(text: string): Uint8Array {
  return encoder.encode(text + "\0");
}

/** What a connection shares with its statements. */
interface DbState {
  readonly lib: Lib;
  readonly db: Pointer;
  open: boolean;
}

/**
 * Finalizes statements the caller dropped, as `node:sqlite` does; `close()`
 * finalizes the rest, so this must skip statements of a closed database.
 */
const dropped = new FinalizationRegistry<{ state: DbState; ptr: Pointer }>(
  ({ state, ptr }) => {
    if (state.open) state.lib.sqlite3_finalize(ptr);
  },
);

class FfiStatement implements Statement {
  #lib: Lib;
  #db: Pointer;
  #state: DbState;
  #ptr: Pointer;
  #readonly: boolean;
  #bound = 0;
  #names: string[] | undefined;
  /** The reprepare count `#names` was read at: a schema change renames. */
  #namesAt = 0;

  constructor(state: DbState, ptr: Pointer) {
    this.#lib = state.lib;
    this.#db = state.db;
    this.#state = state;
    this.#ptr = ptr;
    this.#readonly = state.lib.sqlite3_stmt_readonly(ptr) !== 0;
    dropped.register(this, { state, ptr });
  }

  run(...params: SqlValue[]): number {
    const p = this.#start(params);
    try {
      let rc;
      while ((rc = this.#lib.sqlite3_step(p)) === SQLITE_ROW);
      unwrap(rc, this.#db);
      return this.#lib.sqlite3_changes(this.#db);
    } finally {
      this.#lib.sqlite3_reset(p);
    }
  }

  get(...params: SqlValue[]): Row | undefined {
    const p = this.#start(params);
    try {
      const l = this.#lib;
      if (unwrap(l.sqlite3_step(p), this.#db) !== SQLITE_ROW) return undefined;
      const row = this.#row(p, this.#columnNames(p));
      // A reset ends a read, but only a step that returns DONE runs the WAL
      // hook: a write (UPDATE … RETURNING) finished by reset never
      // auto-checkpoints, and the WAL grows without bound.
      if (!this.#readonly) {
        let rc;
        while ((rc = l.sqlite3_step(p)) === SQLITE_ROW);
        unwrap(rc, this.#db);
      }
      return row;
    } finally {
      this.#lib.sqlite3_reset(p);
    }
  }

  all(...params: SqlValue[]): Row[] {
    const p = this.#start(params);
    try {
      const l = this.#lib;
      const rows: Row[] = [];
      let rc = l.sqlite3_step(p);
      const names = rc === SQLITE_ROW ? this.#columnNames(p) : [];
      for (; rc === SQLITE_ROW; rc = l.sqlite3_step(p)) {
        rows.push(this.#row(p, names));
      }
      unwrap(rc, this.#db);
      return rows;
    } finally {
      this.#lib.sqlite3_reset(p);
    }
  }

  /** Binds `params` to a statement left reset by the previous call. */
  #start(params: SqlValue[]): Pointer {
    if (!this.#state.open) {
      throw new TypeError("Cannot use statement: its database is closed");
    }
    const p = this.#ptr;
    const l = this.#lib;
    if (params.length < this.#bound) l.sqlite3_clear_bindings(p);
    this.#bound = params.length;
    for (let i = 0; i < params.length; i++) {
      const v = params[i];
      let rc;
      if (v === null || v === undefined) rc = l.sqlite3_bind_null(p, i + 1);
      else if (typeof v === "number") {
        rc = (v | 0) === v
          ? l.sqlite3_bind_int(p, i + 1, v)
          : Number.isSafeInteger(v)
          ? l.sqlite3_bind_int64(p, i + 1, BigInt(v))
          : l.sqlite3_bind_double(p, i + 1, v);
      } else if (typeof v === "string") {
        const buf = scratchFor(v.length * 3);
        const n = encoder.encodeInto(v, buf).written;
        rc = l.sqlite3_bind_text(p, i + 1, buf, n, TRANSIENT);
      } else if (typeof v === "bigint") {
        rc = l.sqlite3_bind_int64(p, i + 1, v);
      } else if (v instanceof Uint8Array) {
        rc = v.byteLength === 0
          ? l.sqlite3_bind_zeroblob(p, i + 1, 0)
          : l.sqlite3_bind_blob(p, i + 1, v, v.byteLength, TRANSIENT);
      } else {
        throw new TypeError(`Cannot bind parameter ${i + 1}: ${typeof v}`);
      }
      unwrap(rc, this.#db);
    }
    return p;
  }

  #row(p: Pointer, names: string[]): Row {
    const l = this.#lib;
    const row: Row = {};
    for (let i = 0; i < names.length; i++) {
      row[names[i]] = this.#column(l, p, i);
    }
    return row;
  }

  /**
   * The column names, read once and again only after SQLite recompiled the
   * statement for a schema change. Recompiling happens inside a step, so
   * this is called after the first step of each execution.
   */
  #columnNames(p: Pointer): string[] {
    const l = this.#lib;
    const at = l.sqlite3_stmt_status(p, SQLITE_STMTSTATUS_REPREPARE, 0);
    if (this.#names && at === this.#namesAt) return this.#names;
    const names = new Array<string>(l.sqlite3_column_count(p));
    for (let i = 0; i < names.length; i++) {
      names[i] = cString(l.sqlite3_column_name(p, i));
    }
    this.#names = names;
    this.#namesAt = at;
    return names;
  }

  #column(l: Lib, p: Pointer, i: number): SqlValue {
    switch (l.sqlite3_column_type(p, i)) {
      case SQLITE_INTEGER: {
        // The double is exact for safe integers and avoids a BigInt.
        const d = l.sqlite3_column_double(p, i);
        return d >= -Number.MAX_SAFE_INTEGER && d <= Number.MAX_SAFE_INTEGER
          ? d
          : l.sqlite3_column_int64(p, i);
      }
      case SQLITE_FLOAT:
        return l.sqlite3_column_double(p, i);
      case SQLITE_TEXT: {
        const text = l.sqlite3_column_text(p, i);
        const n = l.sqlite3_column_bytes(p, i);
        return text && n ? decodeText(text, n) : "";
      }
      case SQLITE_BLOB: {
        const blob = l.sqlite3_column_blob(p, i);
        const bytes = new Uint8Array(l.sqlite3_column_bytes(p, i));
        if (blob) Deno.UnsafePointerView.copyInto(blob, bytes);
        return bytes;
      }
      default:
        return null;
    }
  }
}

/**
 * Opens a database through the system `libsqlite3`.
 *
 * @param options Where the database lives.
 * @returns An open connection whose driver is `ffi`.
 * @throws {Error} when no `libsqlite3` can be loaded.
 * @throws {SqliteError} when the file cannot be opened.
 */
export const openFfi: OpenConnection = (options) => {
  const l = load();
  const rc = l.sqlite3_open_v2(encodeZ(options.path), out, OPEN_FLAGS, null);
  const db = Deno.UnsafePointer.create(out[0]);
  if (rc !== SQLITE_OK) {
    try {
      unwrap(rc, db);
    } finally {
      l.sqlite3_close_v2(db);
    }
  }
  if (!db) throw new SqliteError(7, "Cannot open database: out of memory");
  const state: DbState = { lib: l, db, open: true };
  unwrap(l.sqlite3_exec(db, SECURE_DELETE_OFF, null, null, null), db);
  const check = () => {
    if (!state.open) throw new TypeError("Cannot use connection: it is closed");
  };
  return {
    driver: "ffi",
    sqliteVersion: cString(l.sqlite3_libversion()),
    exec(sql) {
      check();
      unwrap(l.sqlite3_exec(db, encodeZ(sql), null, null, null), db);
    },
    prepare(sql) {
      check();
      const bytes = encoder.encode(sql);
      const rc = l.sqlite3_prepare_v3(
        db,
        bytes,
        bytes.byteLength,
        SQLITE_PREPARE_PERSISTENT,
        out,
        null,
      );
      unwrap(rc, db);
      const ptr = Deno.UnsafePointer.create(out[0]);
      if (!ptr) throw new RangeError(`Cannot prepare empty SQL: "${sql}"`);
      return new FfiStatement(state, ptr);
    },
    close() {
      if (!state.open) return;
      state.open = false;
      for (let p; (p = l.sqlite3_next_stmt(db, null));) l.sqlite3_finalize(p);
      unwrap(l.sqlite3_close_v2(db), db);
    },
  } satisfies Connection;
};

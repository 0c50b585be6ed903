/**
 * The conformance suite every SQLite driver passes: it registers one
 * `Deno.test` per behaviour the store relies on, each against its own
 * temporary database file.
 *
 * @example
 * ```ts ignore
 * import { driverConformance } from "./driver_conformance.ts";
 * import { openFfi } from "./ffi.ts";
 *
 * driverConformance("ffi", openFfi);
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Connection,
  type OpenConnection,
  SQLITE_BUSY,
  SQLITE_CONSTRAINT,
  SqliteError,
} from "../connection.ts";

const SQLITE_ERROR = 1;

type Open = () => Connection;

/** Runs `fn` with a temporary database path; removes the folder after. */
async function withTempDb(
  open: OpenConnection,
  fn: (db: Connection, openAnother: Open, path: string) => void,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "intentbus_driver_" });
  const path = join(dir, "test.db");
  const opened: Connection[] = [];
  const openAnother = () => {
    const db = open({ path });
    opened.push(db);
    return db;
  };
  try {
    fn(openAnother(), openAnother, path);
  } finally {
    for (const db of opened) db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function assertSqliteError(fn: () => unknown, code: number): void {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof SqliteError, `not a SqliteError: ${err}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

/**
 * Sets up WAL mode as the store does (no fsync per commit) and a small
 * table `t (id, n)` holding ids 1..`rows`.
 */
function walTable(db: Connection, rows: number): void {
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
    CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);`);
  const insert = db.prepare("INSERT INTO t (id) VALUES (?)");
  for (let id = 1; id <= rows; id++) insert.run(id);
}

/**
 * Compares rows by their own keys and values: drivers may build rows with a
 * null prototype (`node:sqlite` does), which the contract leaves open.
 */
function assertRows(actual: unknown, expected: unknown, message?: string) {
  const plain = (v: unknown) =>
    v && typeof v === "object" && !(v instanceof Uint8Array) ? { ...v } : v;
  const normal = Array.isArray(actual) ? actual.map(plain) : plain(actual);
  assert.deepEqual(normal, expected, message);
}

function walSize(path: string): number {
  return Deno.statSync(`${path}-wal`).size;
}

/**
 * Registers the driver conformance tests for one driver.
 *
 * @param name The driver's name; its connections must report it.
 * @param open The driver's `OpenConnection`.
 */
export function driverConformance(name: string, open: OpenConnection): void {
  const test = (
    behaviour: string,
    fn: (db: Connection, openAnother: Open, path: string) => void,
  ) => Deno.test(`${name}: ${behaviour}`, () => withTempDb(open, fn));

  test(
    "opens a file, reports its name and version, runs DDL",
    (db, _, path) => {
      assert.equal(db.driver, name);
      assert.match(db.sqliteVersion, /^3\.\d+\.\d+$/);
      db.exec("CREATE TABLE a (x); CREATE TABLE b (y);");
      const tables = db.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
      ).all();
      assertRows(tables, [{ name: "a" }, { name: "b" }]);
      assert.ok(Deno.statSync(path).isFile);
    },
  );

  test("secure_delete is off, as in upstream SQLite", (db) => {
    assertRows(db.prepare("PRAGMA secure_delete").get(), { secure_delete: 0 });
  });

  test("run returns the number of rows changed", (db) => {
    walTable(db, 5);
    assert.equal(db.prepare("UPDATE t SET n = 1 WHERE id <= ?").run(3), 3);
    assert.equal(db.prepare("DELETE FROM t WHERE id > ?").run(100), 0);
    assert.equal(db.prepare("INSERT INTO t (id) VALUES (?)").run(6), 1);
  });

  test("get returns the first row, or undefined when there is none", (db) => {
    walTable(db, 3);
    const get = db.prepare("SELECT id, n FROM t WHERE id >= ? ORDER BY id");
    assertRows(get.get(2), { id: 2, n: 0 });
    assert.equal(get.get(9), undefined);
  });

  test("all returns every row in order, or an empty array", (db) => {
    walTable(db, 3);
    const all = db.prepare("SELECT id FROM t WHERE id >= ? ORDER BY id DESC");
    assertRows(all.all(1), [{ id: 3 }, { id: 2 }, { id: 1 }]);
    assertRows(all.all(9), []);
  });

  test("parameters of every type round-trip with their SQL type", (db) => {
    db.exec("CREATE TABLE v (k INTEGER PRIMARY KEY, v)");
    const values: [unknown, string][] = [
      [null, "null"],
      [0, "integer"],
      [-1, "integer"],
      [2 ** 31, "integer"],
      [-(2 ** 31) - 1, "integer"],
      [2 ** 40 + 7, "integer"],
      [Number.MAX_SAFE_INTEGER, "integer"],
      [Number.MIN_SAFE_INTEGER, "integer"],
      [1.5, "real"],
      [-0.125, "real"],
      [1e300, "real"],
      ["", "text"],
      ["plain ascii", "text"],
      ["héllo wörld, 日本語, Ελληνικά, 🎉👩‍💻", "text"],
      [new Uint8Array(0), "blob"],
      [new Uint8Array([0, 1, 127, 128, 255]), "blob"],
    ];
    const insert = db.prepare("INSERT INTO v (k, v) VALUES (?, ?)");
    values.forEach(([v], k) => insert.run(k, v as null));
    const rows = db.prepare("SELECT v, typeof(v) AS t FROM v ORDER BY k").all();
    assertRows(rows, values.map(([v, t]) => ({ v, t })));
  });

  test("bigint parameters bind as integers and read back as numbers", (db) => {
    const row = db.prepare("SELECT ? AS a, ? AS b, typeof(?) AS t").get(
      2n ** 40n,
      -5n,
      1n,
    );
    assertRows(row, { a: 2 ** 40, b: -5, t: "integer" });
  });

  test("get on UPDATE … RETURNING commits and leaves no open read", (
    db,
    openAnother,
    path,
  ) => {
    walTable(db, 10);
    const claim = db.prepare("UPDATE t SET n = n + 1 RETURNING id");
    const peek = db.prepare("SELECT id FROM t ORDER BY id");
    assert.ok(claim.get());
    assertRows(peek.get(), { id: 1 });
    const other = openAnother();
    const total = other.prepare("SELECT sum(n) AS s FROM t").get();
    assertRows(total, { s: 10 }, "every row was updated and committed");
    const checkpoint = other.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
    assert.equal(checkpoint?.busy, 0, "a reader or writer pinned the WAL");
    assert.equal(walSize(path), 0);
  });

  test("the WAL stays bounded across many get() on UPDATE … RETURNING", (
    db,
    _,
    path,
  ) => {
    walTable(db, 50);
    const claim = db.prepare(
      "UPDATE t SET n = n + 1 WHERE id IN (?, ?) RETURNING id, n",
    );
    // Unfinished statements grow the WAL by a page or more per commit, past
    // 12 MB here; finished ones let auto-checkpoint recycle it near 4 MB.
    for (let i = 0; i < 3000; i++) claim.get(1 + (i % 50), 1 + ((i + 7) % 50));
    assert.ok(walSize(path) < 6_000_000, `WAL is ${walSize(path)} bytes`);
  });

  test("a constraint violation throws SqliteError with code 19", (db) => {
    db.exec("CREATE TABLE u (id INTEGER PRIMARY KEY, s TEXT NOT NULL)");
    const insert = db.prepare("INSERT INTO u (id, s) VALUES (?, ?)");
    insert.run(1, "a");
    assertSqliteError(() => insert.run(1, "b"), SQLITE_CONSTRAINT);
    assertSqliteError(() => insert.run(2, null), SQLITE_CONSTRAINT);
    assert.equal(insert.run(2, "b"), 1, "the statement is usable after");
  });

  test("a syntax error throws SqliteError with code 1", (db) => {
    assertSqliteError(() => db.prepare("SELEC 1"), SQLITE_ERROR);
    assertSqliteError(() => db.exec("CREATE TABLE ("), SQLITE_ERROR);
    assertSqliteError(() => db.prepare("SELECT * FROM missing"), SQLITE_ERROR);
  });

  test("a write blocked by BEGIN IMMEDIATE elsewhere throws code 5", (
    db,
    openAnother,
  ) => {
    walTable(db, 1);
    const other = openAnother();
    other.exec("PRAGMA busy_timeout = 0");
    db.exec("BEGIN IMMEDIATE");
    assertSqliteError(() => other.exec("BEGIN IMMEDIATE"), SQLITE_BUSY);
    const insert = other.prepare("INSERT INTO t (id) VALUES (?)");
    assertSqliteError(() => insert.run(2), SQLITE_BUSY);
    db.exec("COMMIT");
    assert.equal(insert.run(2), 1);
  });

  test("transactions commit and roll back through exec", (db) => {
    walTable(db, 0);
    const insert = db.prepare("INSERT INTO t (id) VALUES (?)");
    db.exec("BEGIN");
    insert.run(1);
    db.exec("ROLLBACK");
    db.exec("BEGIN IMMEDIATE");
    insert.run(2);
    db.exec("COMMIT");
    assertRows(db.prepare("SELECT id FROM t").all(), [{ id: 2 }]);
  });

  test("a statement is reusable many times with new parameters", (db) => {
    walTable(db, 0);
    db.exec("CREATE TABLE r (id INTEGER PRIMARY KEY, s TEXT)");
    const insert = db.prepare("INSERT INTO r (id, s) VALUES (?, ?)");
    const get = db.prepare("SELECT s FROM r WHERE id = ?");
    for (let i = 0; i < 2000; i++) {
      assert.equal(insert.run(i, `row ${i}`), 1);
      assertRows(get.get(i), { s: `row ${i}` });
    }
    const count = db.prepare("SELECT count(*) AS c FROM r").get();
    assertRows(count, { c: 2000 });
  });

  test("close keeps the data and ends the connection", (
    db,
    _,
    path,
  ) => {
    walTable(db, 0);
    const own = open({ path });
    own.prepare("INSERT INTO t (id) VALUES (?)").run(1);
    const select = own.prepare("SELECT id FROM t");
    assertRows(select.get(), { id: 1 });
    own.close();
    assert.throws(() => own.prepare("SELECT 1"));
    assertRows(db.prepare("SELECT id FROM t").all(), [{ id: 1 }]);
  });
}

import assert from "node:assert/strict";
import { SQLITE_BUSY, SQLITE_CONSTRAINT, SqliteError } from "../connection.ts";
import { openNodeSqlite } from "./node_sqlite.ts";

Deno.test("node:sqlite constraint failures carry SQLITE_CONSTRAINT", () => {
  const db = openNodeSqlite({ path: ":memory:" });
  try {
    db.exec("CREATE TABLE t (x INTEGER PRIMARY KEY)");
    db.prepare("INSERT INTO t VALUES (?)").run(1);
    assert.throws(
      () => db.prepare("INSERT INTO t VALUES (?)").run(1),
      (e) => e instanceof SqliteError && e.code === SQLITE_CONSTRAINT,
    );
    assert.throws(
      () => db.prepare("SELECT * FROM missing"),
      (e) => e instanceof SqliteError && e.code === 1,
    );
  } finally {
    db.close();
  }
});

Deno.test("node:sqlite lock contention carries SQLITE_BUSY", async () => {
  const dir = await Deno.makeTempDir({ prefix: "intentbus-store-" });
  const a = openNodeSqlite({ path: `${dir}/q.db` });
  const b = openNodeSqlite({ path: `${dir}/q.db` });
  try {
    a.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x)");
    b.exec("PRAGMA busy_timeout = 0");
    a.exec("BEGIN IMMEDIATE");
    assert.throws(
      () => b.exec("BEGIN IMMEDIATE"),
      (e) => e instanceof SqliteError && e.code === SQLITE_BUSY,
    );
    a.exec("ROLLBACK");
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("node:sqlite stores safe integers as INTEGER and reads numbers", () => {
  const db = openNodeSqlite({ path: ":memory:" });
  try {
    const row = db.prepare("SELECT ?1 AS v, typeof(?1) AS t, ?2 AS f").get(
      2 ** 40,
      1.5,
    );
    assert.deepEqual({ ...row }, { v: 2 ** 40, t: "integer", f: 1.5 });
    assert.match(db.sqliteVersion, /^3\.\d+\.\d+$/);
    assert.equal(db.driver, "node:sqlite");
  } finally {
    db.close();
  }
});

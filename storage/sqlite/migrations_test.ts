import assert from "node:assert/strict";
import { openNodeSqlite } from "./drivers/node_sqlite.ts";
import { migrate, MIGRATIONS } from "./migrations.ts";

Deno.test("migrate brings a new database to the latest version, once", () => {
  const db = openNodeSqlite({ path: ":memory:" });
  try {
    const latest = MIGRATIONS[MIGRATIONS.length - 1].version;
    assert.equal(migrate(db), latest);
    assert.equal(migrate(db), latest);
    assert.equal(db.prepare("PRAGMA user_version").get()?.user_version, latest);
  } finally {
    db.close();
  }
});

Deno.test("migrations are numbered 1, 2, 3… without gaps", () => {
  assert.deepEqual(
    MIGRATIONS.map((m) => m.version),
    MIGRATIONS.map((_, i) => i + 1),
  );
});

Deno.test("migrate refuses a database newer than the code", () => {
  const db = openNodeSqlite({ path: ":memory:" });
  try {
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
    assert.throws(() => migrate(db), RangeError);
  } finally {
    db.close();
  }
});

Deno.test("a failing migration leaves the database untouched", () => {
  const db = openNodeSqlite({ path: ":memory:" });
  try {
    db.exec("CREATE TABLE kv (x)"); // collides with migration 1
    assert.throws(() => migrate(db));
    assert.equal(db.prepare("PRAGMA user_version").get()?.user_version, 0);
    const tables = db.prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table'",
    ).all();
    assert.deepEqual(tables.map((t) => t.name), ["kv"]);
  } finally {
    db.close();
  }
});

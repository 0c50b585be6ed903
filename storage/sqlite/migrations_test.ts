import assert from "node:assert/strict";
import { DRIVERS } from "./drivers/mod.ts";
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

Deno.test("a version 1 database with dead intents is migrated to the latest, keeping them", () => {
  const db = openNodeSqlite({ path: ":memory:" });
  try {
    db.exec(`${MIGRATIONS[0].sql}; PRAGMA user_version = 1`);
    db.exec(
      `INSERT INTO dead_intents (id, namespace, goal, payload, state, priority,
         visibility, publisher, max_attempts, backoff_base, run_at,
         expires_at, created_at, updated_at, died_at, dead_reason)
       VALUES ('${"1".padStart(32, "0")}', 'default', 'g', '{}', 'open', 100,
         'public', 'p', 3, 5, 0, 0, 0, 1000, 1000, 'failed')`,
    );
    assert.equal(migrate(db), MIGRATIONS.length);
    const indexes = db.prepare(
      `SELECT name FROM sqlite_schema
       WHERE type = 'index' AND tbl_name = 'dead_intents' AND sql IS NOT NULL
       ORDER BY name`,
    ).all().map((r) => r.name);
    assert.deepEqual(indexes, [
      "dead_intents_died",
      "dead_intents_goal",
      "dead_intents_namespace",
    ]);
    assert.equal(
      db.prepare("SELECT goal FROM dead_intents").get()?.goal,
      "g",
    );
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

for (const driver of Object.keys(DRIVERS)) {
  Deno.test(`${driver}: processes opening a new file at once all end up migrated`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "intentbus-store-" });
    try {
      const path = `${dir}/q.db`;
      const script = `
      import { openSqliteStore } from ${
        JSON.stringify(new URL("./open.ts", import.meta.url).href)
      };
      const store = await openSqliteStore({
        path: ${JSON.stringify(path)},
        driver: ${JSON.stringify(driver)},
      });
      await store.close();`;
      const runs = await Promise.all(
        [1, 2, 3].map(() =>
          new Deno.Command(Deno.execPath(), {
            args: ["eval", script],
            stderr: "piped",
          }).output()
        ),
      );
      for (const run of runs) {
        assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      }
      const db = openNodeSqlite({ path });
      try {
        assert.equal(
          db.prepare("PRAGMA user_version").get()?.user_version,
          MIGRATIONS.length,
        );
      } finally {
        db.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

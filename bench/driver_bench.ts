/**
 * The SQLite drivers compared at the connection port: insert, select by
 * primary key and `UPDATE … RETURNING` one row, each in autocommit and 100
 * to a transaction, on a WAL file with `synchronous = NORMAL`.
 * `node:sqlite` is the baseline of every group.
 *
 * Run: `deno bench -A bench/driver_bench.ts`
 *
 * @module
 */

import { join } from "node:path";
import type {
  Connection,
  OpenConnection,
} from "../storage/sqlite/connection.ts";
import { openFfi } from "../storage/sqlite/drivers/ffi.ts";
import { openNodeSqlite } from "../storage/sqlite/drivers/node_sqlite.ts";

const ROWS = 10_000;
const BATCH = 100;
const dir = Deno.makeTempDirSync({ prefix: "intentbus_driver_bench_" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
});

/** A table shaped like an intent row, preloaded with `ROWS` rows. */
function setUp(name: string, open: OpenConnection) {
  const db = open({ path: join(dir, `${name.replace(":", "_")}.db`) });
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
    CREATE TABLE t (id INTEGER PRIMARY KEY, state TEXT NOT NULL,
      goal TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL,
      run_at INTEGER NOT NULL, lease_owner TEXT);`);
  const statements = {
    insert: db.prepare(
      "INSERT INTO t (state, goal, payload, attempts, run_at) " +
        "VALUES ('open', ?, ?, 0, ?)",
    ),
    select: db.prepare("SELECT * FROM t WHERE id = ?"),
    claim: db.prepare(
      "UPDATE t SET state = 'claimed', attempts = attempts + 1, " +
        "lease_owner = ? WHERE id = ? RETURNING *",
    ),
  };
  const payload = JSON.stringify({ to: "ada@example.com", n: 42, tag: "x" });
  db.exec("BEGIN");
  for (let i = 0; i < ROWS; i++) {
    statements.insert.run("send.email", payload, 1_700_000_000_000 + i);
  }
  db.exec("COMMIT");
  return { db, payload, ...statements };
}

type Setup = ReturnType<typeof setUp>;
let next = 0;
const id = () => 1 + (next++ % ROWS);

function inTransaction(db: Connection, fn: () => void): void {
  db.exec("BEGIN IMMEDIATE");
  for (let i = 0; i < BATCH; i++) fn();
  db.exec("COMMIT");
}

const cases: Record<string, (s: Setup) => () => void> = {
  "insert": (s) => () => {
    s.insert.run("send.email", s.payload, 1_700_000_000_000);
  },
  "insert x100 in a transaction": (s) => () =>
    inTransaction(s.db, () => {
      s.insert.run("send.email", s.payload, 1_700_000_000_000);
    }),
  "select by primary key": (s) => () => {
    s.select.get(id());
  },
  "select by primary key x100 in a transaction": (s) => () =>
    inTransaction(s.db, () => {
      s.select.get(id());
    }),
  "update … returning": (s) => () => {
    s.claim.get("worker-1", id());
  },
  "update … returning x100 in a transaction": (s) => () =>
    inTransaction(s.db, () => {
      s.claim.get("worker-1", id());
    }),
};

const drivers: [string, OpenConnection][] = [
  ["node:sqlite", openNodeSqlite],
  ["ffi", openFfi],
];
for (const [driver, open] of drivers) {
  const setup = setUp(driver, open);
  for (const [group, make] of Object.entries(cases)) {
    Deno.bench({
      name: driver,
      group,
      baseline: driver === "node:sqlite",
      fn: make(setup),
    });
  }
}

/**
 * The SQLite drivers compared at the connection port: insert, select by
 * primary key and `UPDATE … RETURNING` one row, each in autocommit and 100
 * to a transaction, on a WAL file with `synchronous = NORMAL`.
 * `node:sqlite` is the baseline of every group.
 *
 * Run: `deno bench -A bench/driver_bench.ts`
 *
 * Measured 2026-11-28 (2 cores shared with other jobs, load 5–6, so read
 * min and p75 more than the mean), per iteration, node:sqlite / ffi:
 * - insert: p75 18.6–19.0 / 21.7–22.7 µs, mean 68–92 / 72–80 µs
 * - insert x100: p75 393–489 / 364–432 µs
 * - select by primary key: min 7.4–11.1 / 4.7 µs, p75 9.7–18.5 / 9.0–9.8 µs
 * - select x100: p75 572–586 / 282–392 µs (ffi about 1.5× faster)
 * - update … returning: p75 32–33 / 38–39 µs
 * - update … returning x100: min 0.64–1.1 / 0.65–0.97 ms, mean 2.2–2.5 /
 *   2.8–3.0 ms
 *
 * ffi builds rows faster (text through `getCString`, integers through
 * `sqlite3_column_double`); what remains on writes is the library itself:
 * Debian's gcc build of SQLite 3.40.1 runs the same scan about 15% slower
 * than the 3.53 bundled in `node:sqlite`, with no FFI involved.
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

/**
 * Keeps the query planner's statistics (`sqlite_stat1`) near the truth.
 * SQLite records them at ANALYZE, which `PRAGMA optimize` at close runs
 * only now and then; a file that grew since, or was filled by hand, keeps
 * figures for tables of a few rows, and SQLite then scans where it should
 * seek: a purge's 2,000-rowid slice scanned all of 1,000,000 rows, 0.4 s
 * instead of about 1 ms. `PRAGMA optimize = 0x10002` would check at open,
 * but only from SQLite 3.46 (the FFI driver uses the system's 3.40), so the
 * check is ours: a table whose row count is ten times off what its
 * statistics say is analysed again, sampled (`analysis_limit`), in
 * milliseconds.
 *
 * @example
 * ```ts
 * import { openNodeSqlite } from "./drivers/node_sqlite.ts";
 * import { migrate } from "./migrations.ts";
 * import { refreshStatistics } from "./statistics.ts";
 *
 * const db = openNodeSqlite({ path: ":memory:" });
 * migrate(db);
 * console.log(refreshStatistics(db)); // [] (no statistics yet: nothing stale)
 * db.close();
 * ```
 *
 * @module
 */

import type { Connection } from "./connection.ts";

/** The tables whose statistics matter to the store's plans. */
const TABLES = ["intents", "dead_intents"] as const;

/**
 * Analyses again each table whose statistics are ten times off its size.
 * Needs the write lock only when it analyses; a busy file (another process
 * writing) is left as it is, since this is only an optimisation.
 *
 * @param db An open, migrated connection.
 * @returns The tables analysed.
 */
export function refreshStatistics(db: Connection): string[] {
  const analysed: string[] = [];
  try {
    const hasStats = db.prepare(
      "SELECT 1 AS x FROM sqlite_schema WHERE name = 'sqlite_stat1'",
    ).get();
    // No statistics at all: SQLite assumes large tables, which is right.
    if (!hasStats) return analysed;
    db.exec("PRAGMA analysis_limit = 400");
    for (const table of TABLES) {
      const stat = db.prepare(
        "SELECT stat FROM sqlite_stat1 WHERE tbl = ?1 AND idx = ?2",
      ).get(table, `sqlite_autoindex_${table}_1`);
      if (!stat) continue;
      const said = Number(String(stat.stat).split(" ")[0]);
      // Rowids only grow here, so the span is a cheap upper bound.
      const span = Number(
        db.prepare(
          `SELECT coalesce(max(rowid) - min(rowid) + 1, 0) AS n FROM ${table}`,
        ).get()!.n,
      );
      const rows = span > 10 * said + 1000
        ? Number(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()!.n)
        : span;
      if (rows > 10 * said + 1000 || said > 10 * rows + 1000) {
        db.exec(`ANALYZE ${table}`);
        analysed.push(table);
      }
    }
  } catch {
    // Busy, or read-only: the statistics stay as they were.
  }
  return analysed;
}

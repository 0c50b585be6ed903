/**
 * The dead list's statement, built for the filters a call names, for both
 * stores. Only the conditions present go into the SQL, so each shape of
 * filter gets a plan of its own that seeks the index made for it
 * (`dead_intents_died`, `_namespace` or `_goal`, each ending in the sort key
 * `died_at, id`). The older single statement, `(?1 IS NULL OR goal = ?1) …`,
 * had one plan for every shape: it walked the whole table by death time, so
 * listing a goal with a few dead among a million read the million.
 *
 * @example
 * ```ts
 * import { deadListSql } from "./dead_list_sql.ts";
 *
 * const { sql, args } = deadListSql("sqlite", { goal: "resize", limit: 10 });
 * console.log(sql.includes("goal = ?1"), args); // true [ "resize", 10 ]
 * ```
 *
 * @module
 */

import type { DeadListParams } from "./storage.ts";

/** A statement and its arguments, in order. */
export interface BuiltQuery {
  /** The SQL text; the same filter shape always gives the same text. */
  sql: string;
  /** Values for its parameters, `?1`/`$1` first. */
  args: (string | number | string[])[];
}

/**
 * Builds the dead list's `SELECT`, newest first.
 *
 * @param dialect `sqlite` (`?n` parameters, ids as a JSON array) or
 * `postgres` (`$n`, ids as `text[]`).
 * @param p The filters, cursor and limit.
 * @returns The statement and its arguments.
 */
export function deadListSql(
  dialect: "sqlite" | "postgres",
  p: DeadListParams,
): BuiltQuery {
  const args: BuiltQuery["args"] = [];
  const arg = (value: string | number | string[]): string => {
    args.push(value);
    return dialect === "sqlite" ? `?${args.length}` : `$${args.length}`;
  };
  const where: string[] = [];
  if (p.namespace !== undefined) where.push(`namespace = ${arg(p.namespace)}`);
  if (p.goal !== undefined) where.push(`goal = ${arg(p.goal)}`);
  if (p.ids !== undefined) {
    where.push(
      dialect === "sqlite"
        ? `id IN (SELECT value FROM json_each(${arg(JSON.stringify(p.ids))}))`
        : `id = ANY(${arg(p.ids)}::text[])`,
    );
  }
  if (p.before !== undefined) {
    // The cursor is the whole sort key, so a page goes on after the last
    // entry even through many deaths in one millisecond.
    const before = dialect === "sqlite"
      ? arg(p.before)
      : `${arg(p.before)}::bigint`;
    where.push(
      p.beforeId === undefined
        ? `died_at < ${before}`
        : `(died_at, id) < (${before}, ${arg(p.beforeId)})`,
    );
  }
  const filter = where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`;
  const sql = `SELECT * FROM dead_intents${filter}
  ORDER BY died_at DESC, id DESC LIMIT ${arg(p.limit)}`;
  return { sql, args };
}

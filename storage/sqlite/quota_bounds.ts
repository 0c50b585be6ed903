/**
 * Upper bounds on each publisher's live (open or claimed) intents, so that a
 * publish well under its quota does not count the publisher's rows again.
 *
 * Counting is exact but costs one index entry per live intent: with a few
 * hundred live, about 100 µs per publish, which doubled the CPU of a publish
 * with an issued key (`bench/app_cpu.ts --issued`). A bound stays safe
 * without tracking every state change, because only inserts and restores
 * from the dead-letter table add live intents:
 *
 * - an insert admitted here raises its publisher's bound by one, even if its
 *   transaction is later rolled back (the bound only grows too high), and
 *   so does an insert without a quota ({@linkcode QuotaBounds.note});
 * - claims, fulfils, fails, cancels, reaps and purges only lower the true
 *   count, so they leave the bound high, never low;
 * - a restore (retry, redrive) must call {@linkcode QuotaBounds.clear};
 * - another connection's commit changes `PRAGMA data_version`, and every
 *   bound is then dropped, since that commit may have inserted.
 *
 * A bound that reaches the quota is replaced by a fresh count, so a
 * publisher near its quota is counted at each publish, as before.
 *
 * @example
 * ```ts
 * import { openNodeSqlite } from "./drivers/node_sqlite.ts";
 * import { QuotaBounds } from "./quota_bounds.ts";
 *
 * const db = openNodeSqlite({ path: ":memory:" });
 * db.exec("CREATE TABLE intents (publisher TEXT, state TEXT)");
 * const bounds = new QuotaBounds();
 * const q = (sql: string) => db.prepare(sql);
 * bounds.admit(q, "alice", 2); // counted: 0 live, bound now 1
 * db.exec("INSERT INTO intents VALUES ('alice', 'open')");
 * bounds.admit(q, "alice", 2); // under the bound: not counted, bound 2
 * db.exec("INSERT INTO intents VALUES ('alice', 'open')");
 * try {
 *   bounds.admit(q, "alice", 2); // bound at the quota: counted, 2 live
 * } catch (err) {
 *   console.log((err as Error).message); // Open intent quota reached: 2
 * }
 * ```
 *
 * @module
 */

import { LimitError } from "../../core/errors.ts";
import { DATA_VERSION, type Prepare } from "./sql.ts";

/** Publishers remembered at most; past it, every bound is dropped. */
const MAX_PUBLISHERS = 10_000;

/** Per-publisher upper bounds on live intents; see the module doc. */
export class QuotaBounds {
  #version: number | null = null;
  #bounds = new Map<string, number>();

  /**
   * Counts one more live intent of `publisher`, admitted without a quota:
   * its bound, if it has one, must still cover it, or a later publish with
   * a quota would be admitted over it.
   *
   * @param publisher The publisher's identity.
   */
  note(publisher: string): void {
    const bound = this.#bounds.get(publisher);
    if (bound !== undefined) this.#bounds.set(publisher, bound + 1);
  }

  /** Drops every bound: call after a write that restores intents. */
  clear(): void {
    this.#bounds.clear();
  }

  /**
   * Admits one more live intent of `publisher`, or throws. Call inside the
   * write transaction that inserts it.
   *
   * @param q Cached prepare of the store's connection.
   * @param publisher The publisher's identity.
   * @param quota Most live intents allowed, a non-negative integer.
   * @throws {LimitError} When the publisher already has `quota` live.
   */
  admit(q: Prepare, publisher: string, quota: number): void {
    if (!Number.isSafeInteger(quota) || quota < 0) {
      throw new RangeError(`Invalid quota: ${quota}`);
    }
    const version = Number(q(DATA_VERSION).get()!.data_version);
    if (version !== this.#version || this.#bounds.size >= MAX_PUBLISHERS) {
      this.#bounds.clear();
      this.#version = version;
    }
    let bound = this.#bounds.get(publisher);
    if (bound === undefined || bound >= quota) {
      // Counting stops at the quota; a literal LIMIT, as a bound one makes
      // SQLite 3.53 re-prepare the statement on every call.
      bound = Number(
        q(
          `SELECT count(*) AS n FROM (SELECT 1 FROM intents
           WHERE publisher = ?1 AND state IN ('open', 'claimed')
           LIMIT ${quota})`,
        ).get(publisher)!.n,
      );
      this.#bounds.set(publisher, bound);
      if (bound >= quota) {
        throw new LimitError(`Open intent quota reached: ${quota}`);
      }
    }
    this.#bounds.set(publisher, bound + 1);
  }
}

/**
 * The synchronous body of an insert, run inside a write batch: idempotency
 * replay or conflict, the publisher's quota, then the row.
 *
 * @module
 */

import { ConflictError, StorageFullError } from "../../core/errors.ts";
import type {
  IntentInsertManyResult,
  IntentInsertParams,
  IntentInsertResult,
} from "../storage.ts";
import { SQLITE_CONSTRAINT, SqliteError } from "./connection.ts";
import type { QuotaBounds } from "./quota_bounds.ts";
import {
  atomicFailure,
  newIntent,
  publishValues,
  rowToIntent,
} from "../rows.ts";
import { DEAD_GET, INTENT_GET, INTENT_PUBLISH, type Prepare } from "./sql.ts";

/**
 * Inserts one intent; see {@linkcode Storage.intentInsert}. `quota` holds
 * the store's bounds on each publisher's live intents.
 */
export function insertOne(
  q: Prepare,
  p: IntentInsertParams,
  quota: QuotaBounds,
): IntentInsertResult {
  if (p.idempotencyKey !== null) {
    const key = q(
      `SELECT request_hash, intent_id FROM idempotency_keys
       WHERE publisher = ?1 AND key = ?2`,
    ).get(p.publisher, p.idempotencyKey);
    if (key) {
      if (key.request_hash !== p.requestHash) {
        throw new ConflictError(
          `Idempotency key was used for a different request: "${p.idempotencyKey}"`,
          "idempotency_conflict",
        );
      }
      const row = q(INTENT_GET).get(key.intent_id) ??
        q(DEAD_GET).get(key.intent_id);
      if (row) return { intent: rowToIntent(row), replayed: true };
      // The intent was purged: the key no longer protects anything.
      q(`DELETE FROM idempotency_keys WHERE publisher = ?1 AND key = ?2`)
        .run(p.publisher, p.idempotencyKey);
    }
  }
  if (p.quota !== null) quota.admit(q, p.publisher, p.quota);
  else quota.note(p.publisher);
  // A live duplicate fails the primary key below; a dead one must be looked up.
  if (q(DEAD_GET).get(p.id)) {
    throw new ConflictError(`Intent id already exists: "${p.id}"`);
  }
  const intent = newIntent(p);
  // The row is built here rather than read back with RETURNING *, which
  // cost about 20 µs per insert to turn 26 columns into an object.
  try {
    q(INTENT_PUBLISH).run(...publishValues(p));
  } catch (err) {
    if (err instanceof SqliteError && err.code === SQLITE_CONSTRAINT) {
      throw new ConflictError(`Intent id already exists: "${p.id}"`);
    }
    throw err;
  }
  if (p.idempotencyKey !== null) {
    q(
      `INSERT INTO idempotency_keys
         (publisher, key, request_hash, intent_id, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5)`,
    ).run(p.publisher, p.idempotencyKey, p.requestHash, p.id, p.now);
  }
  return { intent, replayed: false };
}

/**
 * Runs items each in its own savepoint (`atomic` false), or all in one that
 * is rolled back on the first failure (`atomic` true; every item then
 * reports an error, the failing one its own). An item without an
 * idempotency key writes one row with one statement, which SQLite undoes by
 * itself when it fails: it needs no savepoint. A publisher's live intents
 * are counted at most once per batch, unless it nears its quota.
 *
 * @param q Cached prepare. @param items What to insert. @param atomic All or nothing.
 * @param quota The store's bounds on each publisher's live intents.
 * @param mapError Turns driver errors into domain errors.
 * @returns One outcome per item.
 */
export function insertMany(
  q: Prepare,
  items: IntentInsertParams[],
  atomic: boolean,
  quota: QuotaBounds,
  mapError: (err: unknown) => unknown,
): IntentInsertManyResult[] {
  const results: IntentInsertManyResult[] = [];
  if (atomic) q("SAVEPOINT batch").run();
  for (const [i, item] of items.entries()) {
    const guard = !atomic && item.idempotencyKey !== null;
    if (guard) q("SAVEPOINT item").run();
    try {
      results.push({ ok: true, ...insertOne(q, item, quota) });
      if (guard) q("RELEASE item").run();
    } catch (err) {
      const error = mapError(err) as Error;
      // SQLite may have ended the whole transaction: fail the whole batch.
      if (error instanceof StorageFullError) throw error;
      if (!atomic) {
        if (guard) {
          q("ROLLBACK TO item").run();
          q("RELEASE item").run();
        }
        results.push({ ok: false, error });
        continue;
      }
      q("ROLLBACK TO batch").run();
      q("RELEASE batch").run();
      return atomicFailure(items.length, i, error);
    }
  }
  if (atomic) q("RELEASE batch").run();
  return results;
}

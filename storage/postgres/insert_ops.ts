/**
 * The PostgreSQL store's inserts: one intent (idempotency key and quota
 * under advisory locks), and batches (plain items in one statement, the
 * others one by one).
 *
 * @module
 */

import type pg from "pg";
import { ConflictError, LimitError } from "../../core/errors.ts";
import {
  atomicFailure,
  newIntent,
  publishValues,
  type Row,
  rowToIntent,
} from "../rows.ts";
import type {
  IntentInsertManyParams,
  IntentInsertManyResult,
  IntentInsertParams,
  IntentInsertResult,
} from "../storage.ts";
import {
  type Db,
  mapPgError,
  type PgConnection,
  TransactionLostError,
} from "./connection.ts";
import * as SQL from "./sql.ts";

/**
 * The body of an insert: idempotency replay or conflict and the quota
 * (each serialised per key by an advisory lock, so `db` is then a
 * transaction's client), then the row.
 */
export async function insertOne(
  conn: PgConnection,
  db: Db,
  p: IntentInsertParams,
): Promise<IntentInsertResult> {
  if (p.idempotencyKey !== null) {
    await conn.q(db, SQL.LOCK_KEY, [
      `idem\n${p.publisher}\n${p.idempotencyKey}`,
    ]);
    const { rows } = await conn.q(
      db,
      `SELECT request_hash, intent_id FROM idempotency_keys
       WHERE publisher = $1 AND key = $2`,
      [p.publisher, p.idempotencyKey],
    );
    if (rows.length > 0) {
      if (rows[0].request_hash !== p.requestHash) {
        throw new ConflictError(
          `Idempotency key was used for a different request: "${p.idempotencyKey}"`,
          "idempotency_conflict",
        );
      }
      const found = await conn.q(db, SQL.INTENT_GET, [rows[0].intent_id]);
      if (found.rows.length > 0) {
        return { intent: rowToIntent(found.rows[0]), replayed: true };
      }
      // The intent was purged: the key no longer protects anything.
      await conn.q(
        db,
        `DELETE FROM idempotency_keys WHERE publisher = $1 AND key = $2`,
        [p.publisher, p.idempotencyKey],
      );
    }
  }
  if (p.quota !== null) {
    await conn.q(db, SQL.LOCK_KEY, [`quota\n${p.publisher}`]);
    const { rows } = await conn.q(db, SQL.PUBLISHER_LIVE, [
      p.publisher,
      p.quota,
    ]);
    if (Number(rows[0].n) >= p.quota) {
      throw new LimitError(`Open intent quota reached: ${p.quota}`);
    }
  }
  let inserted;
  try {
    inserted = conn.watch.noticeDue(p.namespace, p.goal)
      ? await conn.q(db, SQL.INTENT_PUBLISH_NOTIFY, [
        ...publishValues(p),
        conn.watch.sender,
        conn.watch.channel,
      ])
      : await conn.q(db, SQL.INTENT_PUBLISH, publishValues(p));
  } catch (err) {
    if (err instanceof ConflictError) {
      throw new ConflictError(`Intent id already exists: "${p.id}"`);
    }
    throw err;
  }
  if (inserted.rowCount === 0) {
    throw new ConflictError(`Intent id already exists: "${p.id}"`);
  }
  if (p.idempotencyKey !== null) {
    await conn.q(
      db,
      `INSERT INTO idempotency_keys
         (publisher, key, request_hash, intent_id, created_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [p.publisher, p.idempotencyKey, p.requestHash, p.id, p.now],
    );
  }
  return { intent: newIntent(p), replayed: false };
}

/**
 * Plain items in one statement, in `c`'s transaction; a taken or dead id
 * fails its item alone.
 */
export async function insertPlain(
  conn: PgConnection,
  c: pg.PoolClient,
  items: IntentInsertParams[],
): Promise<IntentInsertManyResult[]> {
  const columns: unknown[][] = Array.from({ length: 14 }, () => []);
  for (const item of items) {
    publishValues(item).forEach((v, k) => columns[k].push(v));
  }
  const { rows } = await conn.q(c, SQL.INTENT_PUBLISH_MANY, columns);
  const fresh = new Set(rows.map((r: Row) => String(r.id)));
  const due = new Set<string>();
  const results = items.map((p): IntentInsertManyResult => {
    if (!fresh.delete(p.id)) {
      return {
        ok: false,
        error: new ConflictError(`Intent id already exists: "${p.id}"`),
      };
    }
    if (p.runAt <= p.now) due.add(`${p.namespace}\n${p.goal}`);
    return { ok: true, intent: newIntent(p), replayed: false };
  });
  for (const key of due) {
    const [namespace, goal] = key.split("\n");
    if (conn.watch.noticeDue(namespace, goal)) {
      await conn.notify(c, namespace, goal);
    }
  }
  return results;
}

/**
 * Items one by one; an atomic batch stops at the first failure. A
 * {@linkcode TransactionLostError} fails the whole batch.
 */
export async function insertEach(
  conn: PgConnection,
  c: pg.PoolClient,
  items: IntentInsertParams[],
  atomic: boolean,
): Promise<IntentInsertManyResult[]> {
  const results: IntentInsertManyResult[] = [];
  for (const item of items) {
    try {
      const r = atomic
        ? await insertOne(conn, c, item)
        : await conn.savepoint(c, () => insertOne(conn, c, item));
      results.push({ ok: true, ...r });
    } catch (err) {
      const error = mapPgError(err) as Error;
      // A lost connection or a timeout ends the transaction: the batch
      // fails whole, at once, instead of each item waiting its own turn.
      if (error instanceof TransactionLostError) throw error;
      results.push({ ok: false, error });
      if (atomic) break;
    }
  }
  return results;
}

/**
 * Inserts many in one transaction; see
 * {@linkcode Storage.intentInsertMany}. Items without an idempotency key
 * or a quota (a master key's batch) go in with one statement; the others
 * one by one, each in a savepoint unless the batch is atomic.
 */
export function insertMany(
  conn: PgConnection,
  params: IntentInsertManyParams,
): Promise<IntentInsertManyResult[]> {
  const { items, atomic } = params;
  return conn.tx(async (c) => {
    const plain = items.every((p) =>
      p.idempotencyKey === null && p.quota === null
    );
    const results = plain
      ? await insertPlain(conn, c, items)
      : await insertEach(conn, c, items, atomic);
    const failed = results.findIndex((r) => !r.ok);
    if (!atomic || failed === -1) return results;
    // All or nothing: undo what this transaction did, then report.
    await c.query("ROLLBACK");
    await c.query("BEGIN");
    const error = (results[failed] as { error: Error }).error;
    return atomicFailure(items.length, failed, error);
  });
}

/**
 * The PostgreSQL store's lease operations: fulfil (alone, and a turn's
 * fulfils together), fail, extend, release, cancel and restore, each
 * checking the lease rules of `storage/lease_rules.ts` on a locked row.
 *
 * @module
 */

import type pg from "pg";
import type { Intent } from "../../core/intent.ts";
import { ConflictError, LeaseLostError } from "../../core/errors.ts";
import {
  backoffMs,
  checkCancel,
  checkLease,
  checkRestore,
  endedToken,
  type LeaseAllow,
  REDRIVE_TTL_MS,
} from "../lease_rules.ts";
import { jsonText, type Row, rowToIntent } from "../rows.ts";
import type {
  AckItem,
  AckResult,
  IntentFailParams,
  IntentFulfilParams,
  LeaseExtendParams,
  LeaseParams,
} from "../storage.ts";
import {
  type Db,
  mapPgError,
  type PgConnection,
  TransactionLostError,
} from "./connection.ts";
import * as SQL from "./sql.ts";
import type { Outcome } from "./turn_group.ts";

/** The live row lease `p` may act on, locked; see {@linkcode checkLease}. */
export async function leasedRow(
  conn: PgConnection,
  c: Db,
  p: LeaseParams,
  allow: LeaseAllow,
): Promise<Row> {
  let row: Row | null = (await conn.q(c, SQL.LEASED_ROW, [p.id])).rows[0] ??
    null;
  let dead = false;
  if (row === null) {
    dead = (await conn.q(c, SQL.DEAD_EXISTS, [p.id])).rows.length > 0;
    // Each statement reads its own snapshot: an intent moving back from the
    // dead letters between the two (a late fulfil, a retry) is in neither.
    // The live table, read again, has it then.
    if (!dead) row = (await conn.q(c, SQL.LEASED_ROW, [p.id])).rows[0] ?? null;
  }
  checkLease(p, row, dead, allow);
  return row as Row;
}

/**
 * Fulfils one intent: by token in one statement when the token matches;
 * otherwise the lease checks on the locked row (in a transaction of its
 * own when `db` is the pool), where a replay returns the stored intent.
 */
export async function fulfilOne(
  conn: PgConnection,
  db: Db,
  p: IntentFulfilParams,
): Promise<Intent> {
  const result = jsonText(p.result);
  if (p.token !== null) {
    // The common case in one statement; anything else takes the checks.
    const { rows } = await conn.q(db, SQL.FULFIL_BY_TOKEN, [
      p.id,
      result,
      p.resultType,
      p.now,
      p.token,
    ]);
    if (rows.length > 0) return rowToIntent(rows[0]);
    // Reaped on its last attempt: dead, but nobody else has claimed it.
    const late = await conn.q(db, SQL.DEAD_FULFIL_LATE, [
      p.id,
      result,
      p.resultType,
      p.now,
      p.token,
    ]);
    if (late.rows.length > 0) return rowToIntent(late.rows[0]);
  }
  const slow = async (c: pg.PoolClient) => {
    const live = await leasedRow(conn, c, p, {
      allowOpen: true,
      allowFulfilled: true,
    });
    if (live.state === "fulfilled") {
      return rowToIntent((await conn.q(c, SQL.INTENT_GET, [p.id])).rows[0]);
    }
    const { rows } = await conn.q(
      c,
      `UPDATE intents SET state = 'fulfilled', result = $2, result_type = $3,
         completed_at = $4, updated_at = $4, lease_expires_at = NULL
       WHERE id = $1 RETURNING *`,
      [p.id, result, p.resultType, p.now],
    );
    return rowToIntent(rows[0]);
  };
  return db === conn.pool ? conn.tx(slow) : slow(db as pg.PoolClient);
}

/**
 * The locked live row fail or release `how` may act on; when its lease is
 * lost, the intent as this same call left it if `p` replays it (its first
 * answer lost on the way; see {@linkcode endedToken}), else the lease error.
 */
async function endingRow(
  conn: PgConnection,
  c: pg.PoolClient,
  p: LeaseParams,
  how: "failed" | "released",
): Promise<{ row: Row } | { replay: Intent }> {
  try {
    return { row: await leasedRow(conn, c, p, { allowOpen: false }) };
  } catch (err) {
    if (!(err instanceof LeaseLostError) || p.token === null) throw err;
    const ended = endedToken(how, p.token);
    for (const table of ["intents", "dead_intents"]) {
      const { rows } = await conn.q(
        c,
        `SELECT * FROM ${table} WHERE id = $1 AND claim_token = $2`,
        [p.id, ended],
      );
      if (rows.length > 0) return { replay: rowToIntent(rows[0]) };
    }
    throw err;
  }
}

/** Fails one intent in `c`'s transaction: open again after backoff, or dead. */
export async function failOne(
  conn: PgConnection,
  c: pg.PoolClient,
  p: IntentFailParams,
): Promise<Intent> {
  const ending = await endingRow(conn, c, p, "failed");
  if ("replay" in ending) return ending.replay;
  const { row } = ending;
  const attempts = Number(row.claim_attempts);
  // A worker's error text is kept, not refused: PostgreSQL text cannot
  // hold U+0000, so it becomes U+FFFD.
  await conn.q(
    c,
    `UPDATE intents SET last_error = $2, claim_token = $3 WHERE id = $1`,
    [
      p.id,
      p.error.replaceAll("\u0000", "\uFFFD"),
      endedToken("failed", String(row.claim_token)),
    ],
  );
  if (attempts >= Number(row.max_attempts)) {
    return killOne(conn, c, p.id, p.now, "attempts_exhausted");
  }
  const runAt = p.now +
    backoffMs(Number(row.backoff_base), attempts, p.jitter);
  const { rows } = await conn.q(
    c,
    `UPDATE intents SET state = 'open', run_at = $2, updated_at = $3,
       claimed_by = NULL, lease_expires_at = NULL
     WHERE id = $1 RETURNING *`,
    [p.id, runAt, p.now],
  );
  return rowToIntent(rows[0]);
}

/** Moves one live intent to the dead-letter table, in one statement. */
export async function killOne(
  conn: PgConnection,
  db: Db,
  id: string,
  now: number,
  reason: string,
): Promise<Intent> {
  const { rows } = await conn.q(db, SQL.KILL_ONE, [id, now, reason]);
  return rowToIntent(rows[0]);
}

/** Brings one dead intent back open, attempts reset, in `c`'s transaction. */
export async function restoreOne(
  conn: PgConnection,
  c: pg.PoolClient,
  id: string,
  now: number,
): Promise<Intent> {
  const dead = (await conn.q(c, SQL.DEAD_EXISTS, [id])).rows.length > 0;
  const live = !dead &&
    (await conn.q(c, SQL.INTENT_GET, [id])).rows.length > 0;
  checkRestore(id, dead, live);
  const { rows } = await conn.q(c, SQL.RESTORE_ONE, [
    id,
    now,
    now + REDRIVE_TTL_MS,
  ]);
  if (rows.length === 0) {
    // Another server restored it between the check and the move.
    throw new ConflictError(`Intent is not dead: "${id}"`, "invalid_state");
  }
  const intent = rowToIntent(rows[0]);
  await conn.notify(c, intent.namespace, intent.goal);
  return intent;
}

/**
 * Fulfils by token, in one statement on `db`, the fulfils with a token
 * whose id comes once among `items` (when there are two or more); returns
 * the rows it fulfilled, by id. What it did not change (a lost lease, a
 * replay, an unknown id, a repeated id) and every fail are the caller's to
 * run one by one, in order.
 */
async function fulfilOnceByToken(
  conn: PgConnection,
  db: Db,
  items: AckItem[],
): Promise<Map<string, Row>> {
  const times = new Map<string, number>();
  for (const it of items) times.set(it.id, (times.get(it.id) ?? 0) + 1);
  const bulk = items.filter((it): it is Extract<AckItem, { kind: "fulfil" }> =>
    it.kind === "fulfil" && it.token !== null && times.get(it.id) === 1
  );
  if (bulk.length < 2) return new Map();
  const { rows } = await conn.q(db, SQL.FULFIL_MANY_BY_TOKEN, [
    bulk.map((it) => it.id),
    bulk.map((it) => it.token),
    bulk.map((it) => jsonText(it.result)),
    bulk.map((it) => it.resultType),
    bulk.map((it) => it.now),
  ]);
  return new Map(rows.map((r: Row) => [String(r.id), r]));
}

/**
 * A turn's fulfils: those whose id comes once in one statement, outside
 * any transaction (one round trip); the rest then one by one, in order,
 * until one fails with a {@linkcode TransactionLostError}, which then
 * fails the rest.
 */
export async function fulfilTurn(
  conn: PgConnection,
  items: IntentFulfilParams[],
): Promise<Outcome<Intent>[]> {
  const done = await fulfilOnceByToken(
    conn,
    conn.pool,
    items.map((it) => ({ kind: "fulfil", ...it })),
  );
  const results: Outcome<Intent>[] = [];
  let lost: TransactionLostError | null = null;
  for (const it of items) {
    const row = done.get(it.id);
    if (row) {
      results.push({ ok: true, value: rowToIntent(row) });
      continue;
    }
    if (lost !== null) {
      results.push({ ok: false, error: lost });
      continue;
    }
    try {
      results.push({ ok: true, value: await fulfilOne(conn, conn.pool, it) });
    } catch (error) {
      // A lost connection or a timeout: the rest would wait as long each.
      if (error instanceof TransactionLostError) lost = error;
      results.push({ ok: false, error });
    }
  }
  return results;
}

/**
 * Fulfils or fails many in one transaction, each with its own outcome;
 * see {@linkcode Storage.intentAckMany}. Fulfils with a token (whose id
 * comes once) go first in one statement; the rest run one by one, each
 * in a savepoint. A {@linkcode TransactionLostError} fails the whole batch.
 */
export function ackMany(
  conn: PgConnection,
  params: { items: AckItem[] },
): Promise<AckResult[]> {
  return conn.tx(async (c) => {
    const done = await fulfilOnceByToken(conn, c, params.items);
    const results: AckResult[] = [];
    for (const item of params.items) {
      const row = item.kind === "fulfil" ? done.get(item.id) : undefined;
      if (row) {
        results.push({ ok: true, intent: rowToIntent(row) });
        continue;
      }
      try {
        const intent = await conn.savepoint(
          c,
          () =>
            item.kind === "fulfil"
              ? fulfilOne(conn, c, item)
              : failOne(conn, c, item),
        );
        results.push({ ok: true, intent });
      } catch (err) {
        const error = mapPgError(err) as Error;
        // The transaction cannot go on: the batch fails whole, at once.
        if (error instanceof TransactionLostError) throw error;
        results.push({ ok: false, error });
      }
    }
    return results;
  });
}

/** Renews a lease; see {@linkcode Storage.leaseExtend}. */
export function extendOne(
  conn: PgConnection,
  p: LeaseExtendParams,
): Promise<Intent> {
  return conn.tx(async (c) => {
    await leasedRow(conn, c, p, { allowOpen: false });
    const { rows } = await conn.q(
      c,
      `UPDATE intents SET lease_expires_at = $2, updated_at = $3
       WHERE id = $1 RETURNING *`,
      [p.id, p.now + p.leaseMs, p.now],
    );
    return rowToIntent(rows[0]);
  });
}

/** Gives a claimed intent back; see {@linkcode Storage.intentRelease}. */
export function releaseOne(
  conn: PgConnection,
  p: LeaseParams,
): Promise<Intent> {
  return conn.tx(async (c) => {
    const ending = await endingRow(conn, c, p, "released");
    if ("replay" in ending) return ending.replay;
    const { rows } = await conn.q(
      c,
      `UPDATE intents SET state = 'open', run_at = $2, updated_at = $2,
         claim_attempts = greatest(claim_attempts - 1, 0), claimed_by = NULL,
         claim_token = $3, lease_expires_at = NULL
       WHERE id = $1 RETURNING *`,
      [p.id, p.now, endedToken("released", String(ending.row.claim_token))],
    );
    const intent = rowToIntent(rows[0]);
    await conn.notify(c, intent.namespace, intent.goal);
    return intent;
  });
}

/** Dead-letters an intent; see {@linkcode Storage.intentCancel}. */
export function cancelOne(
  conn: PgConnection,
  params: { id: string; now: number },
): Promise<Intent> {
  return conn.tx(async (c) => {
    const { rows } = await conn.q(
      c,
      `SELECT state FROM intents WHERE id = $1 FOR UPDATE`,
      [params.id],
    );
    const state = rows.length > 0 ? rows[0].state : null;
    const dead = state === null &&
      (await conn.q(c, SQL.DEAD_EXISTS, [params.id])).rows.length > 0;
    checkCancel(params.id, state, dead);
    return killOne(conn, c, params.id, params.now, "cancelled");
  });
}

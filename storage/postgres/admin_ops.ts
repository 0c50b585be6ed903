/**
 * The PostgreSQL store's housekeeping: reaping, retention, the dead-letter
 * table, purge, KV, API keys, nonces, stats and paused goals.
 *
 * @module
 */

import type { Intent, JsonValue } from "../../core/intent.ts";
import { ConflictError } from "../../core/errors.ts";
import { REDRIVE_TTL_MS } from "../lease_rules.ts";
import { parseJson, rowToApiKey, rowToIntent, statsOf } from "../rows.ts";
import type {
  ApiKey,
  DeadFilter,
  DeadListParams,
  GoalParams,
  KvSetParams,
  LeaseReapParams,
  LeaseReapResult,
  MaintenanceParams,
  MaintenanceResult,
  PurgeParams,
  QueueStats,
} from "../storage.ts";
import type { Db, PgConnection } from "./connection.ts";
import * as SQL from "./sql.ts";
import { deadListSql } from "../dead_list_sql.ts";

/** Deletes a namespace's intents; see {@linkcode Storage.intentPurge}. */
export function purge(conn: PgConnection, p: PurgeParams): Promise<number> {
  return conn.tx(async (c) => {
    let deleted = 0;
    for (const table of ["intents", "dead_intents"]) {
      const r = await conn.q(
        c,
        `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table}
           WHERE ($1::text IS NULL OR namespace = $1) AND created_at <= $2
           LIMIT $3)`,
        [p.namespace, p.now, p.limit ?? null],
      );
      deleted += r.rowCount ?? 0;
    }
    return deleted;
  });
}

/** A page of dead intents, newest first, read on `db` (the pool or a transaction). */
export function deadListOn(
  conn: PgConnection,
  db: Db,
  p: DeadListParams,
): Promise<Intent[]> {
  const { sql, args } = deadListSql("postgres", p);
  return conn.q(db, sql, args).then((r) => r.rows.map(rowToIntent));
}

/** Reopens dead intents; see {@linkcode Storage.deadRedrive}. */
export function deadRedrive(
  conn: PgConnection,
  params: DeadFilter & { now: number; limit: number },
): Promise<Intent[]> {
  return conn.tx(async (c) => {
    const out: Intent[] = [];
    for (
      const dead of await deadListOn(conn, c, { ...params, before: undefined })
    ) {
      const { rows } = await conn.q(c, SQL.RESTORE_ONE, [
        dead.id,
        params.now,
        params.now + REDRIVE_TTL_MS,
      ]);
      // Empty: another server redrove it first.
      if (rows.length > 0) out.push(rowToIntent(rows[0]));
    }
    const goals = new Set(out.map((i) => `${i.namespace}\n${i.goal}`));
    for (const g of goals) {
      const [namespace, goal] = g.split("\n");
      await conn.notify(c, namespace, goal);
    }
    return out;
  });
}

/** Reaps expired leases and intents; see {@linkcode Storage.leaseReap}. */
export function reap(
  conn: PgConnection,
  params: LeaseReapParams,
): Promise<LeaseReapResult> {
  const limit = params.limit ?? null; // PostgreSQL: LIMIT NULL is no limit
  return conn.tx(async (c) => {
    const a = await conn.q(c, SQL.REAP_DEAD_LEASES, [params.now, limit]);
    const b = await conn.q(c, SQL.REAP_DEAD_EXPIRED, [params.now, limit]);
    const r = await conn.q(c, SQL.REAP_RETRY, [
      params.now,
      params.jitter,
      limit,
    ]);
    return {
      dead: (a.rowCount ?? 0) + (b.rowCount ?? 0),
      retried: r.rowCount ?? 0,
    };
  });
}

/** Deletes what retention allows; see {@linkcode Storage.maintenanceRun}. */
export function maintenance(
  conn: PgConnection,
  p: MaintenanceParams,
): Promise<MaintenanceResult> {
  const cutoff = p.now - p.retentionMs;
  const limit = p.limit ?? null; // PostgreSQL: LIMIT NULL is no limit
  return conn.tx(async (c) => {
    const n = async (sql: string, at: number) =>
      (await conn.q(c, sql, [at, limit])).rowCount ?? 0;
    return {
      intents: await n(SQL.PRUNE_INTENTS, cutoff),
      dead: await n(SQL.PRUNE_DEAD, cutoff),
      nonces: await n(SQL.PRUNE_NONCES, p.now),
      idempotencyKeys: await n(SQL.PRUNE_IDEMPOTENCY_KEYS, cutoff),
      kv: await n(SQL.PRUNE_KV, p.now),
    };
  });
}

/** Stores a value for `owner`; see {@linkcode Storage.kvSet}. */
export async function kvSet(
  conn: PgConnection,
  p: KvSetParams,
): Promise<void> {
  await conn.q(
    conn.pool,
    `INSERT INTO kv (owner, key, value, expires_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (owner, key)
     DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
    [p.owner, p.key, JSON.stringify(p.value), p.expiresAt],
  );
}

/** Reads a live value, or null; see {@linkcode Storage.kvGet}. */
export async function kvGet(
  conn: PgConnection,
  p: { owner: string; key: string; now: number },
): Promise<{ value: JsonValue } | null> {
  const { rows } = await conn.q(
    conn.pool,
    `SELECT value FROM kv WHERE owner = $1 AND key = $2 AND expires_at > $3`,
    [p.owner, p.key, p.now],
  );
  return rows.length > 0 ? { value: parseJson(rows[0].value)! } : null;
}

/** Stores an issued key's hash; see {@linkcode Storage.apiKeyInsert}. */
export async function apiKeyInsert(
  conn: PgConnection,
  p: { hash: string; owner: string; now: number },
): Promise<ApiKey> {
  const { rows } = await conn.q(
    conn.pool,
    `INSERT INTO api_keys (hash, owner, created_at) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING RETURNING *`,
    [p.hash, p.owner, p.now],
  );
  if (rows.length === 0) {
    throw new ConflictError(`API key already exists: "${p.hash}"`);
  }
  return rowToApiKey(rows[0]);
}

/** Reads a key by hash, or null; see {@linkcode Storage.apiKeyGet}. */
export async function apiKeyGet(
  conn: PgConnection,
  params: { hash: string },
): Promise<ApiKey | null> {
  const { rows } = await conn.q(
    conn.pool,
    `SELECT * FROM api_keys WHERE hash = $1`,
    [params.hash],
  );
  return rows.length > 0 ? rowToApiKey(rows[0]) : null;
}

/** Revokes a key; see {@linkcode Storage.apiKeyRevoke}. */
export async function apiKeyRevoke(
  conn: PgConnection,
  params: { hash: string; now: number },
): Promise<boolean> {
  const r = await conn.q(
    conn.pool,
    `UPDATE api_keys SET revoked_at = $2
     WHERE hash = $1 AND revoked_at IS NULL`,
    [params.hash, params.now],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * Records a signing nonce in one statement; see
 * {@linkcode Storage.nonceUse}. A live earlier use leaves the row alone
 * and returns nothing.
 */
export async function nonceUse(
  conn: PgConnection,
  p: { key: string; nonce: string; expiresAt: number; now: number },
): Promise<boolean> {
  const { rows } = await conn.q(
    conn.pool,
    `INSERT INTO nonces (key, nonce, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (key, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
     WHERE nonces.expires_at <= $4
     RETURNING 1 AS used`,
    [p.key, p.nonce, p.expiresAt, p.now],
  );
  return rows.length > 0;
}

/** Counts per state and goal; see {@linkcode Storage.statsGet}. */
export async function stats(
  conn: PgConnection,
  params: { now: number },
): Promise<QueueStats> {
  const db = conn.pool;
  const [fulfilled, open, claimed, dead, paused] = await Promise.all([
    conn.q(
      db,
      `SELECT count(*) AS n FROM intents WHERE state = 'fulfilled'`,
    ),
    conn.q(
      db,
      `SELECT namespace, goal, count(*) AS n,
         count(*) FILTER (WHERE run_at > $1) AS delayed
       FROM intents WHERE state = 'open' GROUP BY namespace, goal`,
      [params.now],
    ),
    conn.q(
      db,
      `SELECT namespace, goal, count(*) AS n FROM intents
       WHERE state = 'claimed' GROUP BY namespace, goal`,
    ),
    conn.q(
      db,
      `SELECT namespace, goal, count(*) AS n FROM dead_intents
       GROUP BY namespace, goal`,
    ),
    conn.q(db, `SELECT namespace, goal FROM paused_goals`),
  ]);
  return statsOf({
    fulfilled: fulfilled.rows[0].n,
    open: open.rows,
    claimed: claimed.rows,
    dead: dead.rows,
    paused: paused.rows,
  });
}

/** Stops claims of a goal; see {@linkcode Storage.goalPause}. */
export async function goalPause(
  conn: PgConnection,
  params: GoalParams & { now: number },
): Promise<void> {
  await conn.q(
    conn.pool,
    `INSERT INTO paused_goals (namespace, goal, paused_at)
     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
    [params.namespace, params.goal, params.now],
  );
}

/** Lets a paused goal be claimed; see {@linkcode Storage.goalResume}. */
export function goalResume(
  conn: PgConnection,
  params: GoalParams,
): Promise<void> {
  return conn.tx(async (c) => {
    const { rowCount } = await conn.q(
      c,
      `DELETE FROM paused_goals WHERE namespace = $1 AND goal = $2`,
      [params.namespace, params.goal],
    );
    if (rowCount) await conn.notify(c, params.namespace, params.goal);
  });
}

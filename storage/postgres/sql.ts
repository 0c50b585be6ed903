/**
 * The SQL of the PostgreSQL store. Parameters are PostgreSQL's `$n`.
 * Moves between the live and dead tables are one statement each
 * (`WITH d AS (DELETE … RETURNING *) INSERT … SELECT … FROM d`), so two
 * servers reaping or cancelling at once can never move a row twice.
 *
 * @module
 */

import {
  INTENT_COLUMNS,
  lateFulfilledList,
  restoredList,
  selectList,
} from "../rows.ts";

const cols = INTENT_COLUMNS.join(", ");

/** How late a claim may run before its lease end moves with it, ms. */
export const CLAIM_LATE_MS = 1000;

/** What a claim reads back: the claimed intent plus the claim-order keys. */
const CLAIMED_COLUMNS = `id, namespace, goal, payload, claim_attempts,
  max_attempts, priority, target_worker, required_capability, claim_token,
  lease_epoch, lease_expires_at, run_at, created_at`;

/**
 * The claim, one statement: lock up to `$10` claimable intents in claim
 * order, skipping rows another claim holds, and lease them. Parameters:
 * $1 namespace, $2 goal, $3 now, $4 caller, $5 master, $6 publisher filter
 * or null, $7 worker id or null, $8 capabilities (text[]), $9 lease end,
 * $10 max. An empty poll locks and writes nothing. Tokens come from
 * `gen_random_uuid()` (PostgreSQL 13+, from the OS's CSPRNG).
 *
 * A claim held up in PostgreSQL (a lock, a stalled database) gets a lease
 * that starts when it ran, not when it was asked: when the statement ran
 * more than {@linkcode CLAIM_LATE_MS} before its update
 * (`clock_timestamp() - now()`, which counts from before any lock wait),
 * the lease end moves that much later. Otherwise it is exactly `$9`, in
 * the caller's time (tests drive it with a fixed `now`). The time a claim
 * waited for a connection is the caller's to add to `$9`.
 */
export const CLAIM = `
  WITH c AS MATERIALIZED (
    SELECT id FROM intents
    WHERE state = 'open' AND namespace = $1 AND goal = $2
      AND run_at <= $3 AND expires_at > $3
      AND claim_attempts < max_attempts
      AND (visibility = 'public' OR publisher = $4 OR $5::boolean)
      AND ($6::text IS NULL OR publisher = $6)
      AND (target_worker IS NULL OR target_worker = $7)
      AND (required_capability IS NULL
        OR required_capability = ANY($8::text[]))
      AND NOT EXISTS
        (SELECT 1 FROM paused_goals WHERE namespace = $1 AND goal = $2)
    ORDER BY priority DESC, run_at, claim_attempts, created_at
    LIMIT $10
    FOR UPDATE SKIP LOCKED)
  UPDATE intents AS i SET state = 'claimed',
    claim_attempts = i.claim_attempts + 1, lease_epoch = i.lease_epoch + 1,
    claim_token = replace(gen_random_uuid()::text, '-', ''), claimed_by = $4,
    worker_id = $7, lease_expires_at = $9::bigint + (SELECT
      CASE WHEN l.ms > ${CLAIM_LATE_MS} THEN l.ms ELSE 0 END
      FROM (SELECT floor(1000 * extract(epoch FROM
        clock_timestamp() - now()))::bigint AS ms) AS l),
    updated_at = $3
  FROM c WHERE i.id = c.id
  RETURNING ${
  CLAIMED_COLUMNS.split(",").map((c) => `i.${c.trim()}`).join(", ")
}`;

/** One intent, live or dead: the dead row's extra columns are NULL for a live one. */
export const INTENT_GET = `
  SELECT ${cols}, NULL::bigint AS died_at, NULL::text AS dead_reason
  FROM intents WHERE id = $1
  UNION ALL SELECT * FROM dead_intents WHERE id = $1
  LIMIT 1`;

/** Whether the dead-letter table holds an id. */
export const DEAD_EXISTS = `SELECT 1 FROM dead_intents WHERE id = $1`;

/** The columns a publish writes, in the order of its parameters. */
const PUBLISH_INTO = `INSERT INTO intents (id, namespace, goal, payload, state,
  priority, visibility, target_worker, required_capability, publisher,
  claim_attempts, max_attempts, backoff_base, run_at, expires_at, created_at,
  updated_at, lease_epoch)`;

/**
 * Inserts a new open intent unless the id is dead: $1 id, $2 namespace,
 * $3 goal, $4 payload, $5 priority, $6 visibility, $7 target worker,
 * $8 capability, $9 publisher, $10 max attempts, $11 backoff base,
 * $12 run_at, $13 expires_at, $14 now. No row inserted: the id is dead; a
 * live duplicate fails the primary key.
 */
export const INTENT_PUBLISH = `${PUBLISH_INTO}
  SELECT $1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, 0, $10, $11, $12, $13,
    $14, $14, 0
  WHERE NOT EXISTS (SELECT 1 FROM dead_intents WHERE id = $1)`;

/**
 * {@linkcode INTENT_PUBLISH} that also tells the other servers, when the
 * intent is due, that its goal has work (`goal_watch.ts`); $15 is this
 * store's id, $16 its channel. One row back per intent inserted.
 */
export const INTENT_PUBLISH_NOTIFY = `
  WITH ins AS (${INTENT_PUBLISH} RETURNING namespace, goal)
  SELECT CASE WHEN $12::bigint <= $14::bigint
    THEN pg_notify($16, $15::text || E'\\n' || namespace || E'\\n' || goal)
    END AS woke
  FROM ins`;

/**
 * Inserts many new open intents in one statement, from parallel arrays in
 * the order of {@linkcode INTENT_PUBLISH}'s parameters ($1 ids … $14 times),
 * skipping dead ids and ids already taken (the first of a repeated id in
 * the batch wins). Returns the ids inserted.
 */
export const INTENT_PUBLISH_MANY = `${PUBLISH_INTO}
  SELECT u.id, u.namespace, u.goal, u.payload, 'open', u.priority,
    u.visibility, u.target_worker, u.required_capability, u.publisher, 0,
    u.max_attempts, u.backoff_base, u.run_at, u.expires_at, u.now, u.now, 0
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[],
    $6::text[], $7::text[], $8::text[], $9::text[], $10::integer[],
    $11::integer[], $12::bigint[], $13::bigint[], $14::bigint[])
    WITH ORDINALITY AS u(id, namespace, goal, payload, priority, visibility,
      target_worker, required_capability, publisher, max_attempts,
      backoff_base, run_at, expires_at, now, ord)
  WHERE NOT EXISTS (SELECT 1 FROM dead_intents AS d WHERE d.id = u.id)
  ORDER BY u.ord
  ON CONFLICT (id) DO NOTHING
  RETURNING id`;

/** Live intents a publisher holds, for its quota: $1 publisher, counted up to $2. */
export const PUBLISHER_LIVE = `SELECT count(*) AS n FROM (SELECT 1 FROM intents
  WHERE publisher = $1 AND state IN ('open', 'claimed') LIMIT $2) AS live`;

/** Serialises a transaction's work on one text key (quota, idempotency key). */
export const LOCK_KEY = `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`;

/**
 * Fulfils when the token matches a claimed (or reaped but not re-claimed)
 * intent: $1 id, $2 result, $3 result type, $4 now, $5 token. A stored
 * token with a `:` is an ended lease's marker (`endedToken`): never matched.
 */
export const FULFIL_BY_TOKEN = `
  UPDATE intents SET state = 'fulfilled', result = $2, result_type = $3,
    completed_at = $4, updated_at = $4, lease_expires_at = NULL
  WHERE id = $1 AND claim_token = $5 AND state IN ('claimed', 'open')
    AND strpos(claim_token, ':') = 0
  RETURNING *`;

/**
 * Fulfils many by token in one statement, from parallel arrays: $1 ids,
 * $2 tokens, $3 results (JSON text or null), $4 result types, $5 times.
 * Only rows whose token matches change.
 */
export const FULFIL_MANY_BY_TOKEN = `
  UPDATE intents AS i SET state = 'fulfilled', result = a.result,
    result_type = a.type, completed_at = a.now, updated_at = a.now,
    lease_expires_at = NULL
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
    AS a(id, token, result, type, now)
  WHERE i.id = a.id AND i.claim_token = a.token
    AND strpos(i.claim_token, ':') = 0
    AND i.state IN ('claimed', 'open')
  RETURNING i.*`;

/** The live row a lease operation checks, locked until the transaction ends. */
export const LEASED_ROW = `SELECT state, claim_token, claimed_by,
  lease_expires_at, claim_attempts, max_attempts, backoff_base
  FROM intents WHERE id = $1 FOR UPDATE`;

/** Moves one live intent to the dead-letter table: $1 id, $2 now, $3 reason. */
export const KILL_ONE = `
  WITH d AS (DELETE FROM intents WHERE id = $1 RETURNING *)
  INSERT INTO dead_intents (${cols}, died_at, dead_reason)
  SELECT ${
  selectList({
    state: "'dead'",
    updated_at: "$2",
    claimed_by: "NULL",
    lease_expires_at: "NULL",
  })
}, $2, $3 FROM d
  RETURNING *`;

/**
 * Moves one dead intent back to live, open and due at $2 with attempts
 * reset: $1 id, $2 now, $3 new expiry.
 */
export const RESTORE_ONE = `
  WITH d AS (DELETE FROM dead_intents WHERE id = $1 RETURNING *)
  INSERT INTO intents (${cols})
  SELECT ${restoredList("$2", "$3")} FROM d
  RETURNING *`;

/**
 * Moves back, fulfilled, a dead intent whose last lease expired, when $5 is
 * that lease's token: $1 id, $2 result, $3 result type, $4 now.
 */
export const DEAD_FULFIL_LATE = `
  WITH d AS (DELETE FROM dead_intents
    WHERE id = $1 AND claim_token = $5 AND dead_reason = 'lease_expired'
    RETURNING *)
  INSERT INTO intents (${cols})
  SELECT ${lateFulfilledList("$2::text", "$3::text", "$4::bigint")} FROM d
  RETURNING *`;

/**
 * Reap step 1: last-attempt expired leases go dead (`lease_expired`); $1
 * now, $2 most rows (NULL: all), earliest lease end first. Rows another
 * server is reaping are skipped, not waited for.
 */
export const REAP_DEAD_LEASES = `
  WITH d AS (DELETE FROM intents WHERE id IN (
      SELECT id FROM intents WHERE state = 'claimed'
        AND lease_expires_at <= $1 AND claim_attempts >= max_attempts
      ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING *)
  INSERT INTO dead_intents (${cols}, died_at, dead_reason)
  SELECT ${
  selectList({
    state: "'dead'",
    updated_at: "$1",
    claimed_by: "NULL",
    lease_expires_at: "NULL",
    last_error: "coalesce(last_error, 'Lease expired')",
  })
}, $1, 'lease_expired' FROM d`;

/** Reap step 2: open intents past their expiry go dead (`expired`); $2 as step 1. */
export const REAP_DEAD_EXPIRED = `
  WITH d AS (DELETE FROM intents WHERE id IN (
      SELECT id FROM intents WHERE state = 'open' AND expires_at <= $1
      ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING *)
  INSERT INTO dead_intents (${cols}, died_at, dead_reason)
  SELECT ${selectList({ state: "'dead'", updated_at: "$1" })}, $1, 'expired'
  FROM d`;

/**
 * Reap step 3: other expired leases reopen after backoff
 * (`min(base × 2^attempts, 3600) + jitter × base` seconds, as
 * `backoffMs`); the claim token is kept so a late fulfil is still accepted
 * until someone re-claims. $1 now, $2 jitter, $3 most rows (NULL: all),
 * earliest lease end first.
 */
export const REAP_RETRY = `
  UPDATE intents SET state = 'open',
    run_at = $1 + trunc((least(backoff_base * (1::bigint << claim_attempts),
      3600) + $2::float8 * backoff_base) * 1000)::bigint,
    claimed_by = NULL, lease_expires_at = NULL, updated_at = $1,
    last_error = 'Lease expired'
  WHERE id IN (SELECT id FROM intents
    WHERE state = 'claimed' AND lease_expires_at <= $1
      AND claim_attempts < max_attempts
    ORDER BY lease_expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)`;

// Retention, in bounded chunks: each deletes at most $2 rows (NULL: all) of
// what is due at $1, found through the table's time index.

/** Fulfilled intents completed before $1. */
export const PRUNE_INTENTS = `DELETE FROM intents WHERE id IN (
  SELECT id FROM intents WHERE state = 'fulfilled' AND completed_at < $1
  LIMIT $2)`;
/** Dead intents that died before $1. */
export const PRUNE_DEAD = `DELETE FROM dead_intents WHERE id IN (
  SELECT id FROM dead_intents WHERE died_at < $1 LIMIT $2)`;
/** Nonces expired at $1. */
export const PRUNE_NONCES = `DELETE FROM nonces WHERE (key, nonce) IN (
  SELECT key, nonce FROM nonces WHERE expires_at <= $1 LIMIT $2)`;
/** Idempotency keys made before $1. */
export const PRUNE_IDEMPOTENCY_KEYS =
  `DELETE FROM idempotency_keys WHERE (publisher, key) IN (
  SELECT publisher, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)`;
/** KV entries expired at $1. */
export const PRUNE_KV = `DELETE FROM kv WHERE (owner, key) IN (
  SELECT owner, key FROM kv WHERE expires_at <= $1 LIMIT $2)`;

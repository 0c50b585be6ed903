/**
 * The SQL of the store, written once for every driver. Parameters are
 * numbered (`?1`) so one value can be used twice.
 *
 * @module
 */

import type { Statement } from "./connection.ts";
import {
  INTENT_COLUMNS,
  lateFulfilledList,
  restoredList,
  selectList,
} from "../rows.ts";

/** A cached `prepare`: the same SQL text gives the same statement. */
export type Prepare = (sql: string) => Statement;

const cols = INTENT_COLUMNS.join(", ");

/**
 * Filters shared by the claim peek and the claim update. Parameters:
 * ?1 namespace, ?2 goal, ?3 now, ?4 caller, ?5 master (0/1), ?6 publisher
 * filter or null, ?7 worker id or null, ?8 capabilities as a JSON array.
 *
 * The LIMIT is a literal, not a parameter: SQLite 3.4x+ reads a bound LIMIT
 * while planning and re-prepares the statement whenever it is rebound, which
 * made every `node:sqlite` claim (SQLite 3.53) about 5× slower. The unary
 * `+` on `run_at` and `expires_at` keeps those terms off every index: with
 * statistics from ANALYZE, SQLite 3.40 otherwise preferred `intents_expiry`
 * plus a sort over the claim index (`claim_plan_test.ts` caught it).
 * `INDEXED BY intents_claim` holds it there for good: over a bulk backlog in
 * the claimed goal, ANALYZE made the index look unselective and SQLite chose
 * a full scan and a sort (54 ms per claim at 100,000 rows, none answered in
 * 60 s at 1,000,000; `bench/scenarios_test.ts` reproduces it).
 */
function claimable(max: number): string {
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`Invalid claim max: ${max}`);
  }
  return `
  SELECT id FROM intents INDEXED BY intents_claim
  WHERE state = 'open' AND namespace = ?1 AND goal = ?2
    AND +run_at <= ?3 AND +expires_at > ?3
    AND claim_attempts < max_attempts
    AND (visibility = 'public' OR publisher = ?4 OR ?5 = 1)
    AND (?6 IS NULL OR publisher = ?6)
    AND (target_worker IS NULL OR target_worker = ?7)
    AND (required_capability IS NULL
      OR required_capability IN (SELECT value FROM json_each(?8)))
    AND NOT EXISTS
      (SELECT 1 FROM paused_goals WHERE namespace = ?1 AND goal = ?2)
  ORDER BY priority DESC, run_at, claim_attempts, created_at
  LIMIT ${max}`;
}

/**
 * Whether any open intent of a goal is due: ?1 namespace, ?2 goal, ?3 now.
 * Asked only after a claim found nothing, to learn whether "nothing" holds
 * for every caller (see `empty_goals.ts`).
 */
export const GOAL_DUE = `SELECT 1 AS due FROM intents INDEXED BY intents_claim
  WHERE state = 'open' AND namespace = ?1 AND goal = ?2 AND +run_at <= ?3
  LIMIT 1`;

/** The earliest future `run_at` of a goal's open intents, or NULL. */
export const GOAL_NEXT = `SELECT min(run_at) AS next
  FROM intents INDEXED BY intents_claim
  WHERE state = 'open' AND namespace = ?1 AND goal = ?2 AND +run_at > ?3`;

/** Changes whenever another connection commits to the file. */
export const DATA_VERSION = `PRAGMA data_version`;

/** What a claim reads back: the claimed intent plus the claim-order keys. */
const CLAIMED_COLUMNS = `id, namespace, goal, payload, claim_attempts,
  max_attempts, priority, target_worker, required_capability, claim_token,
  lease_epoch, lease_expires_at, run_at, created_at`;

/**
 * Read-only: which intents a claim of up to `max` would take. No write lock.
 *
 * @param max Most intents, a positive integer.
 * @returns The SQL.
 */
export function claimPeek(max: number): string {
  return claimable(max);
}

/**
 * {@linkcode claimPeek} plus the file's `data_version`, read in the same
 * snapshot: always at least one row, `dv` set, `id` null when nothing is
 * claimable. One statement is one read transaction (a few µs of locking in
 * WAL mode) instead of two.
 *
 * @param max Most intents, a positive integer.
 * @returns The SQL.
 */
export function claimPeekVersion(max: number): string {
  return `SELECT v.data_version AS dv, c.id AS id
  FROM pragma_data_version AS v LEFT JOIN (${claimable(max)}) AS c`;
}

/**
 * Inserts a new open intent, unclaimed, with only the columns a publish
 * sets: ?1 id, ?2 namespace, ?3 goal, ?4 payload, ?5 priority,
 * ?6 visibility, ?7 target worker, ?8 capability, ?9 publisher,
 * ?10 max attempts, ?11 backoff base, ?12 run_at, ?13 expires_at, ?14 now.
 * The other columns take their defaults or stay NULL until a claim.
 */
export const INTENT_PUBLISH = `INSERT INTO intents (id, namespace, goal,
  payload, state, priority, visibility, target_worker, required_capability,
  publisher, claim_attempts, max_attempts, backoff_base, run_at, expires_at,
  created_at, updated_at, lease_epoch)
  VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11, ?12, ?13,
    ?14, ?14, 0)`;

/**
 * Fulfils in one statement when the token matches a claimed (or reaped but
 * not re-claimed) intent: ?1 id, ?2 result, ?3 result type, ?4 now,
 * ?5 token. No row back: the slower checks say why.
 */
export const FULFIL_BY_TOKEN = `
  UPDATE intents SET state = 'fulfilled', result = ?2, result_type = ?3,
    completed_at = ?4, updated_at = ?4, lease_expires_at = NULL
  WHERE id = ?1 AND claim_token = ?5 AND state IN ('claimed', 'open')
    AND instr(claim_token, ':') = 0
  RETURNING *`;

/**
 * A stored token with a `:` is an ended lease's marker (`endedToken` in
 * `lease_rules.ts`): no fulfil matches it, whatever a client sends.
 *
 * Fulfils many claimed intents with one statement: `?1` is a JSON array of
 * `{"id","token","result","type","now"}` (`result` as JSON text or null).
 * Only rows whose token matches change; the caller takes the others one by
 * one, so their errors and replays are exactly those of a single fulfil.
 */
export const FULFIL_MANY_BY_TOKEN = `
  UPDATE intents SET state = 'fulfilled', result = a.value ->> '$.result',
    result_type = a.value ->> '$.type',
    completed_at = a.value ->> '$.now', updated_at = a.value ->> '$.now',
    lease_expires_at = NULL
  FROM json_each(?1) AS a
  WHERE intents.id = a.value ->> '$.id'
    AND intents.claim_token = a.value ->> '$.token'
    AND instr(intents.claim_token, ':') = 0
    AND intents.state IN ('claimed', 'open')
  RETURNING *`;

/**
 * The claim: leases what {@linkcode claimPeek} finds, re-checking every
 * filter inside the write transaction so two claims never take one intent.
 * ?9 is the lease end. Tokens come from SQLite's CSPRNG (ChaCha20 since
 * 3.40, seeded from the OS), one per row, since one statement claims a whole
 * batch.
 *
 * @param max Most intents, a positive integer.
 * @returns The SQL.
 */
export function claimUpdate(max: number): string {
  return `
  UPDATE intents SET state = 'claimed',
    claim_attempts = claim_attempts + 1, lease_epoch = lease_epoch + 1,
    claim_token = lower(hex(randomblob(16))), claimed_by = ?4,
    worker_id = ?7, lease_expires_at = ?9, updated_at = ?3
  WHERE id IN (${claimable(max)})
  RETURNING ${CLAIMED_COLUMNS}`;
}

/** One live intent. */
export const INTENT_GET = `SELECT * FROM intents WHERE id = ?1`;
/** One dead intent. */
export const DEAD_GET = `SELECT * FROM dead_intents WHERE id = ?1`;

/** Copies one live intent to the dead-letter table: ?1 id, ?2 now, ?3 reason. */
export const DEAD_MOVE_ONE = `
  INSERT INTO dead_intents (${cols}, died_at, dead_reason)
  SELECT ${
  selectList({
    state: "'dead'",
    updated_at: "?2",
    claimed_by: "NULL",
    lease_expires_at: "NULL",
  })
}, ?2, ?3 FROM intents WHERE id = ?1
  RETURNING *`;

/** Deletes one live intent. */
export const INTENT_DELETE = `DELETE FROM intents WHERE id = ?1`;

/**
 * Copies one dead intent back to live, open and due at ?2 with attempts
 * reset: ?1 id, ?2 now, ?3 new expiry.
 */
export const DEAD_RESTORE_ONE = `
  INSERT INTO intents (${cols})
  SELECT ${restoredList("?2", "?3")} FROM dead_intents WHERE id = ?1
  RETURNING *`;

/**
 * Copies back, fulfilled, a dead intent whose last lease expired, when ?5 is
 * that lease's token: ?1 id, ?2 result, ?3 result type, ?4 now. The delete
 * from `dead_intents` follows ({@linkcode DEAD_DELETE}).
 */
export const DEAD_FULFIL_LATE = `
  INSERT INTO intents (${cols})
  SELECT ${lateFulfilledList("?2", "?3", "?4")} FROM dead_intents
  WHERE id = ?1 AND claim_token = ?5 AND dead_reason = 'lease_expired'
  RETURNING *`;

/** Deletes one dead intent. */
export const DEAD_DELETE = `DELETE FROM dead_intents WHERE id = ?1`;

/** Backoff in ms for a row, as SQL: min(base × 2^attempts, 3600) + jitter ?2 × base. */
const BACKOFF_MS = `CAST((min(backoff_base * (1 << claim_attempts), 3600)
  + ?2 * backoff_base) * 1000 AS INTEGER)`;

/**
 * Reap step 1: last-attempt expired leases go dead (`lease_expired`);
 * ?1 now, ?2 most rows (-1: all), earliest lease end first. The matching
 * delete follows.
 */
export const REAP_DEAD_LEASES = `
  INSERT INTO dead_intents (${cols}, died_at, dead_reason)
  SELECT ${
  selectList({
    state: "'dead'",
    updated_at: "?1",
    claimed_by: "NULL",
    lease_expires_at: "NULL",
    last_error: "coalesce(last_error, 'Lease expired')",
  })
}, ?1, 'lease_expired' FROM intents
  WHERE state = 'claimed' AND lease_expires_at <= ?1
    AND claim_attempts >= max_attempts
  ORDER BY lease_expires_at LIMIT ?2`;

/**
 * Reap steps 1 and 2, delete half: the live rows the step just copied to
 * the dead-letter table (an id is never in both tables otherwise); ?1 now.
 */
export const REAP_DELETE_MOVED = `
  DELETE FROM intents WHERE id IN (
    SELECT id FROM dead_intents WHERE died_at = ?1
      AND dead_reason IN ('lease_expired', 'expired'))`;

/**
 * Reap step 2: open intents past their expiry go dead (`expired`); ?1 now,
 * ?2 most rows (-1: all), earliest expiry first.
 */
export const REAP_DEAD_EXPIRED = `
  INSERT INTO dead_intents (${cols}, died_at, dead_reason)
  SELECT ${
  selectList({ state: "'dead'", updated_at: "?1" })
}, ?1, 'expired' FROM intents
  WHERE state = 'open' AND expires_at <= ?1
  ORDER BY expires_at LIMIT ?2`;

/**
 * Reap step 3: other expired leases reopen after backoff; the claim token is
 * kept so a late fulfil is still accepted until someone re-claims.
 * ?1 now, ?2 jitter, ?3 most rows (-1: all), earliest lease end first.
 */
export const REAP_RETRY = `
  UPDATE intents SET state = 'open', run_at = ?1 + ${BACKOFF_MS},
    claimed_by = NULL, lease_expires_at = NULL, updated_at = ?1,
    last_error = 'Lease expired'
  WHERE id IN (SELECT id FROM intents
    WHERE state = 'claimed' AND lease_expires_at <= ?1
      AND claim_attempts < max_attempts
    ORDER BY lease_expires_at LIMIT ?3)`;

// Retention, in bounded chunks: each deletes at most ?2 rows (-1: all) of
// what is due at ?1, found through the table's time index.

/** Fulfilled intents completed before ?1. */
export const PRUNE_INTENTS = `DELETE FROM intents WHERE id IN (
  SELECT id FROM intents WHERE state = 'fulfilled' AND completed_at < ?1
  LIMIT ?2)`;
/** Dead intents that died before ?1. */
export const PRUNE_DEAD = `DELETE FROM dead_intents WHERE id IN (
  SELECT id FROM dead_intents WHERE died_at < ?1 LIMIT ?2)`;
/** Nonces expired at ?1. */
export const PRUNE_NONCES = `DELETE FROM nonces WHERE (key, nonce) IN (
  SELECT key, nonce FROM nonces WHERE expires_at <= ?1 LIMIT ?2)`;
/** Idempotency keys made before ?1. */
export const PRUNE_IDEMPOTENCY_KEYS =
  `DELETE FROM idempotency_keys WHERE (publisher, key) IN (
  SELECT publisher, key FROM idempotency_keys WHERE created_at < ?1 LIMIT ?2)`;
/** KV entries expired at ?1. */
export const PRUNE_KV = `DELETE FROM kv WHERE (owner, key) IN (
  SELECT owner, key FROM kv WHERE expires_at <= ?1 LIMIT ?2)`;

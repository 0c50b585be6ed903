/**
 * What every store writes and reads the same way: the intent columns, row
 * ↔ domain mapping, the values a publish binds, the intent a publish
 * creates, stats assembled from grouped counts, and an atomic batch's
 * failure. JSON values (payload, result) are stored as JSON text; times
 * are integer unix milliseconds, which a driver may hand back as a number,
 * a bigint or a string (PostgreSQL's `bigint`).
 *
 * @module
 */

import type {
  ClaimedIntent,
  Intent,
  IntentState,
  JsonValue,
  ResultType,
  Visibility,
} from "../core/intent.ts";
import { ConflictError } from "../core/errors.ts";
import { liveToken } from "./lease_rules.ts";
import type {
  ApiKey,
  GoalStats,
  IntentInsertManyResult,
  IntentInsertParams,
  QueueStats,
} from "./storage.ts";

/** A value as a driver returns it. */
type SqlValue = unknown;
/** A row as a driver returns it: column name → value. */
export type Row = Record<string, SqlValue>;

/**
 * Columns shared by live and dead intents, in table order. The dead-letter
 * moves copy rows with `INSERT … SELECT` over this list.
 */
export const INTENT_COLUMNS = [
  "id",
  "namespace",
  "goal",
  "payload",
  "state",
  "priority",
  "visibility",
  "target_worker",
  "required_capability",
  "publisher",
  "claim_attempts",
  "max_attempts",
  "backoff_base",
  "run_at",
  "expires_at",
  "created_at",
  "updated_at",
  "claimed_by",
  "worker_id",
  "claim_token",
  "lease_epoch",
  "lease_expires_at",
  "last_error",
  "result",
  "result_type",
  "completed_at",
] as const;

/**
 * A `SELECT` list over {@linkcode INTENT_COLUMNS} with some replaced by
 * expressions, for `INSERT … SELECT` moves between the live and dead tables.
 *
 * @param overrides Column → SQL expression.
 * @returns The comma-separated list.
 */
export function selectList(overrides: Record<string, string>): string {
  return INTENT_COLUMNS.map((c) => overrides[c] ?? c).join(", ");
}

/**
 * The select list that brings a dead intent back to life: open, due at
 * `now`, attempts and lease reset, result cleared, expiring at `expiresAt`.
 * Both stores' restores use it, each with its own placeholders.
 *
 * @param now The statement's placeholder for now. @param expiresAt Its
 *   placeholder for the new expiry.
 * @returns The comma-separated list.
 */
export function restoredList(now: string, expiresAt: string): string {
  return selectList({
    state: "'open'",
    claim_attempts: "0",
    run_at: now,
    expires_at: expiresAt,
    updated_at: now,
    claimed_by: "NULL",
    claim_token: "NULL",
    lease_expires_at: "NULL",
    result: "NULL",
    result_type: "NULL",
    completed_at: "NULL",
  });
}

/**
 * The select list that brings back, fulfilled, an intent the reaper moved
 * to the dead-letter table when its last lease expired: a late fulfil with
 * that lease's token is accepted, as it is while attempts are left. Both
 * stores use it, each with its own placeholders.
 *
 * @param result The result's placeholder. @param resultType Its type's.
 * @param now Now's.
 * @returns The comma-separated list.
 */
export function lateFulfilledList(
  result: string,
  resultType: string,
  now: string,
): string {
  return selectList({
    state: "'fulfilled'",
    result,
    result_type: resultType,
    completed_at: now,
    updated_at: now,
    claimed_by: "NULL",
    lease_expires_at: "NULL",
  });
}

const num = (v: SqlValue): number => Number(v);
const numOrNull = (v: SqlValue): number | null => v === null ? null : Number(v);
const strOrNull = (v: SqlValue): string | null => v === null ? null : String(v);

/**
 * Encodes a JSON value for storage; null stays SQL NULL.
 *
 * @param value Any JSON value.
 * @returns JSON text, or null.
 */
export function jsonText(value: JsonValue | null): string | null {
  return value === null ? null : JSON.stringify(value);
}

/**
 * Decodes stored JSON text.
 *
 * @param v A column holding JSON text or NULL.
 * @returns The value, or null.
 */
export function parseJson(v: SqlValue): JsonValue | null {
  return v === null ? null : JSON.parse(String(v)) as JsonValue;
}

/**
 * Maps a row of `intents` or `dead_intents` to an {@linkcode Intent}.
 *
 * @param row A row with every intent column (and `dead_reason` when dead).
 * @returns The intent.
 */
export function rowToIntent(row: Row): Intent {
  return {
    id: String(row.id),
    namespace: String(row.namespace),
    goal: String(row.goal),
    payload: parseJson(row.payload),
    state: String(row.state) as IntentState,
    priority: num(row.priority),
    visibility: String(row.visibility) as Visibility,
    targetWorker: strOrNull(row.target_worker),
    requiredCapability: strOrNull(row.required_capability),
    publisher: String(row.publisher),
    claimAttempts: num(row.claim_attempts),
    maxAttempts: num(row.max_attempts),
    backoffBase: num(row.backoff_base),
    runAt: num(row.run_at),
    expiresAt: num(row.expires_at),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    claimedBy: strOrNull(row.claimed_by),
    workerId: strOrNull(row.worker_id),
    claimToken: liveToken(row.claim_token),
    leaseEpoch: num(row.lease_epoch),
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    lastError: strOrNull(row.last_error),
    result: parseJson(row.result),
    resultType: strOrNull(row.result_type) as ResultType | null,
    completedAt: numOrNull(row.completed_at),
    deadReason: row.dead_reason === undefined
      ? null
      : strOrNull(row.dead_reason),
  };
}

/**
 * Maps a freshly claimed row to what a worker receives.
 *
 * @param row A row returned by the claim `UPDATE`.
 * @returns The claimed intent.
 */
export function rowToClaimed(row: Row): ClaimedIntent {
  return {
    id: String(row.id),
    namespace: String(row.namespace),
    goal: String(row.goal),
    payload: parseJson(row.payload),
    claimAttempts: num(row.claim_attempts),
    maxAttempts: num(row.max_attempts),
    priority: num(row.priority),
    targetWorker: strOrNull(row.target_worker),
    requiredCapability: strOrNull(row.required_capability),
    claimToken: String(row.claim_token),
    leaseEpoch: num(row.lease_epoch),
    leaseExpiresAt: num(row.lease_expires_at),
  };
}

/**
 * Orders claimed rows as the claim order does; `RETURNING` promises no order.
 *
 * @param a A claimed row. @param b Another.
 * @returns Negative when `a` comes first.
 */
export function claimOrder(a: Row, b: Row): number {
  return num(b.priority) - num(a.priority) ||
    num(a.run_at) - num(b.run_at) ||
    num(a.claim_attempts) - num(b.claim_attempts) ||
    num(a.created_at) - num(b.created_at);
}

/**
 * The intent an insert writes, built from its parameters: the store returns
 * it without reading the row back.
 *
 * @param p The insert's parameters.
 * @returns The open intent.
 */
export function newIntent(p: IntentInsertParams): Intent {
  return {
    id: p.id,
    namespace: p.namespace,
    goal: p.goal,
    payload: p.payload,
    state: "open",
    priority: p.priority,
    visibility: p.visibility,
    targetWorker: p.targetWorker,
    requiredCapability: p.requiredCapability,
    publisher: p.publisher,
    claimAttempts: 0,
    maxAttempts: p.maxAttempts,
    backoffBase: p.backoffBase,
    runAt: p.runAt,
    expiresAt: p.expiresAt,
    createdAt: p.now,
    updatedAt: p.now,
    claimedBy: null,
    workerId: null,
    claimToken: null,
    leaseEpoch: 0,
    leaseExpiresAt: null,
    lastError: null,
    result: null,
    resultType: null,
    completedAt: null,
    deadReason: null,
  };
}

/**
 * Maps a row of `api_keys` to an {@linkcode ApiKey}.
 *
 * @param row The row.
 * @returns The key.
 */
export function rowToApiKey(row: Row): ApiKey {
  return {
    hash: String(row.hash),
    owner: String(row.owner),
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

/**
 * The values a publish binds, in the order of every store's publish
 * statement: id, namespace, goal, payload (JSON text), priority,
 * visibility, target worker, capability, publisher, max attempts, backoff
 * base, run at, expires at, now.
 *
 * @param p The insert's parameters.
 * @returns The 14 values.
 */
export function publishValues(
  p: IntentInsertParams,
): (string | number | null)[] {
  return [
    p.id,
    p.namespace,
    p.goal,
    JSON.stringify(p.payload),
    p.priority,
    p.visibility,
    p.targetWorker,
    p.requiredCapability,
    p.publisher,
    p.maxAttempts,
    p.backoffBase,
    p.runAt,
    p.expiresAt,
    p.now,
  ];
}

/** The grouped counts a store reads for {@linkcode statsOf}. */
export interface StatsRows {
  /** Fulfilled intents in all. */
  fulfilled: unknown;
  /** Per `namespace`, `goal`: open `n`, of which `delayed`. */
  open: Row[];
  /** Per `namespace`, `goal`: claimed `n`. */
  claimed: Row[];
  /** Per `namespace`, `goal`: dead `n`. */
  dead: Row[];
  /** `namespace`, `goal` of each paused goal. */
  paused: Row[];
}

/**
 * Assembles {@linkcode QueueStats} from a store's grouped counts: per state,
 * and per goal sorted by namespace and goal.
 *
 * @param rows The counts.
 * @returns The stats.
 */
export function statsOf(rows: StatsRows): QueueStats {
  const states = {
    open: 0,
    claimed: 0,
    fulfilled: Number(rows.fulfilled),
    dead: 0,
  };
  const goals = new Map<string, GoalStats>();
  const goal = (r: Row): GoalStats => {
    const k = JSON.stringify([r.namespace, r.goal]);
    let g = goals.get(k);
    if (!g) {
      g = {
        namespace: String(r.namespace),
        goal: String(r.goal),
        open: 0,
        delayed: 0,
        claimed: 0,
        dead: 0,
        paused: false,
      };
      goals.set(k, g);
    }
    return g;
  };
  for (const r of rows.open) {
    const g = goal(r);
    g.open = Number(r.n);
    g.delayed = Number(r.delayed);
    states.open += g.open;
  }
  for (const r of rows.claimed) {
    const g = goal(r);
    g.claimed = Number(r.n);
    states.claimed += g.claimed;
  }
  for (const r of rows.dead) {
    const g = goal(r);
    g.dead = Number(r.n);
    states.dead += g.dead;
  }
  for (const r of rows.paused) goal(r).paused = true;
  return {
    states,
    goals: [...goals.values()].sort((a, b) =>
      a.namespace.localeCompare(b.namespace) || a.goal.localeCompare(b.goal)
    ),
  };
}

/**
 * What an atomic batch that stored nothing reports: every item failed, the
 * failing one with its own error, the others with a `ConflictError` naming
 * it.
 *
 * @param count Items in the batch. @param failed The failing item's index.
 * @param error Its error.
 * @returns One failed outcome per item.
 */
export function atomicFailure(
  count: number,
  failed: number,
  error: Error,
): IntentInsertManyResult[] {
  return Array.from(
    { length: count },
    (_, j) =>
      j === failed ? { ok: false, error } : {
        ok: false,
        error: new ConflictError(
          `Not stored: item ${failed} of the atomic batch failed: ${error.message}`,
        ),
      },
  );
}

/**
 * The synchronous bodies of the lease operations (fulfil, fail, extend,
 * release, cancel, retry), run inside a write batch. Each checks the lease
 * rules, writes, and returns the intent as it now is.
 *
 * @module
 */

import { LeaseLostError, StorageFullError } from "../../core/errors.ts";
import type { Intent } from "../../core/intent.ts";
import {
  backoffMs,
  checkCancel,
  checkLease,
  checkRestore,
  endedToken,
  type LeaseAllow,
  REDRIVE_TTL_MS,
} from "../lease_rules.ts";
import type {
  AckItem,
  AckResult,
  IntentFailParams,
  IntentFulfilParams,
  LeaseExtendParams,
  LeaseParams,
} from "../storage.ts";
import type { Row } from "./connection.ts";
import { jsonText, rowToIntent } from "../rows.ts";
import {
  DEAD_DELETE,
  DEAD_FULFIL_LATE,
  DEAD_GET,
  DEAD_MOVE_ONE,
  DEAD_RESTORE_ONE,
  FULFIL_BY_TOKEN,
  FULFIL_MANY_BY_TOKEN,
  INTENT_DELETE,
  INTENT_GET,
  type Prepare,
} from "./sql.ts";

/**
 * Finds the live row a lease operation may act on, or throws; see
 * {@linkcode checkLease}.
 */
function leasedRow(q: Prepare, p: LeaseParams, allow: LeaseAllow): Row {
  const row = q(
    `SELECT state, claim_token, claimed_by, lease_expires_at, claim_attempts,
       max_attempts, backoff_base FROM intents WHERE id = ?1`,
  ).get(p.id) ?? null;
  checkLease(
    p,
    row,
    row === null && q(DEAD_GET).get(p.id) !== undefined,
    allow,
  );
  return row;
}

/** Moves a live intent to the dead-letter table. */
function killOne(q: Prepare, id: string, now: number, reason: string): Intent {
  const row = q(DEAD_MOVE_ONE).get(id, now, reason);
  q(INTENT_DELETE).run(id);
  return rowToIntent(row!);
}

/**
 * Fulfils: state `fulfilled`, result stored. A replay with the token of the
 * claim that fulfilled it changes nothing and returns the intent, so a client
 * retrying after a lost answer learns that its work was stored.
 */
export function fulfilOne(q: Prepare, p: IntentFulfilParams): Intent {
  if (p.token !== null) {
    // The common case in one statement; anything else takes the checks.
    const row = q(FULFIL_BY_TOKEN).get(
      p.id,
      jsonText(p.result),
      p.resultType,
      p.now,
      p.token,
    );
    if (row) return rowToIntent(row);
    // Reaped on its last attempt: dead, but nobody else has claimed it.
    const late = q(DEAD_FULFIL_LATE).get(
      p.id,
      jsonText(p.result),
      p.resultType,
      p.now,
      p.token,
    );
    if (late) {
      q(DEAD_DELETE).run(p.id);
      return rowToIntent(late);
    }
  }
  const live = leasedRow(q, p, { allowOpen: true, allowFulfilled: true });
  if (live.state === "fulfilled") return rowToIntent(q(INTENT_GET).get(p.id)!);
  const row = q(
    `UPDATE intents SET state = 'fulfilled', result = ?2, result_type = ?3,
       completed_at = ?4, updated_at = ?4, lease_expires_at = NULL
     WHERE id = ?1 RETURNING *`,
  ).get(p.id, jsonText(p.result), p.resultType, p.now);
  return rowToIntent(row!);
}

/**
 * The live row fail or release `how` may act on; when its lease is lost,
 * the intent as this same call left it if `p` replays it (its first answer
 * lost on the way; see {@linkcode endedToken}), else the lease error.
 */
function endingRow(
  q: Prepare,
  p: LeaseParams,
  how: "failed" | "released",
): { row: Row } | { replay: Intent } {
  try {
    return { row: leasedRow(q, p, { allowOpen: false }) };
  } catch (err) {
    if (!(err instanceof LeaseLostError) || p.token === null) throw err;
    const ended = endedToken(how, p.token);
    const replay = q(
      `SELECT * FROM intents WHERE id = ?1 AND claim_token = ?2`,
    ).get(p.id, ended) ??
      q(`SELECT * FROM dead_intents WHERE id = ?1 AND claim_token = ?2`)
        .get(p.id, ended);
    if (replay === undefined) throw err;
    return { replay: rowToIntent(replay) };
  }
}

/** Fails: open again after backoff, or dead when attempts are used up. */
export function failOne(q: Prepare, p: IntentFailParams): Intent {
  const ending = endingRow(q, p, "failed");
  if ("replay" in ending) return ending.replay;
  const { row } = ending;
  const attempts = Number(row.claim_attempts);
  q(`UPDATE intents SET last_error = ?2, claim_token = ?3 WHERE id = ?1`)
    .run(p.id, p.error, endedToken("failed", String(row.claim_token)));
  if (attempts >= Number(row.max_attempts)) {
    return killOne(q, p.id, p.now, "attempts_exhausted");
  }
  const runAt = p.now +
    backoffMs(Number(row.backoff_base), attempts, p.jitter);
  const updated = q(
    `UPDATE intents SET state = 'open', run_at = ?2, updated_at = ?3,
       claimed_by = NULL, lease_expires_at = NULL
     WHERE id = ?1 RETURNING *`,
  ).get(p.id, runAt, p.now);
  return rowToIntent(updated!);
}

/** Extends a lease to `now + leaseMs`. */
export function extendOne(q: Prepare, p: LeaseExtendParams): Intent {
  leasedRow(q, p, { allowOpen: false });
  const row = q(
    `UPDATE intents SET lease_expires_at = ?2, updated_at = ?3
     WHERE id = ?1 RETURNING *`,
  ).get(p.id, p.now + p.leaseMs, p.now);
  return rowToIntent(row!);
}

/** Releases: open and due now, the attempt given back. */
export function releaseOne(q: Prepare, p: LeaseParams): Intent {
  const ending = endingRow(q, p, "released");
  if ("replay" in ending) return ending.replay;
  const row = q(
    `UPDATE intents SET state = 'open', run_at = ?2, updated_at = ?2,
       claim_attempts = max(claim_attempts - 1, 0), claimed_by = NULL,
       claim_token = ?3, lease_expires_at = NULL
     WHERE id = ?1 RETURNING *`,
  ).get(p.id, p.now, endedToken("released", String(ending.row.claim_token)));
  return rowToIntent(row!);
}

/** Cancels an open or claimed intent into the dead-letter table. */
export function cancelOne(q: Prepare, id: string, now: number): Intent {
  const row = q(INTENT_GET).get(id);
  const state = row ? row.state : null;
  checkCancel(id, state, state === null && q(DEAD_GET).get(id) !== undefined);
  return killOne(q, id, now, "cancelled");
}

/** Brings a dead intent back to open, attempts reset, expiring in 24 h. */
export function restoreOne(q: Prepare, id: string, now: number): Intent {
  const dead = q(DEAD_GET).get(id) !== undefined;
  checkRestore(id, dead, !dead && q(INTENT_GET).get(id) !== undefined);
  const row = q(DEAD_RESTORE_ONE).get(id, now, now + REDRIVE_TTL_MS);
  q(DEAD_DELETE).run(id);
  return rowToIntent(row!);
}

/**
 * Fulfils or fails many, each with its own outcome. Fulfils with a token
 * (whose id comes once in the batch) go first, all in one statement; what it
 * did not change (a lost lease, a replay, an unknown id) and every fail then
 * run one by one, a fail in a savepoint as it may write twice.
 *
 * @param q Cached prepare.
 * @param items The acknowledgements.
 * @param touch Called with each intent a fail reopened.
 * @param mapError Turns driver errors into domain errors.
 * @returns One outcome per item, in order.
 */
export function ackMany(
  q: Prepare,
  items: AckItem[],
  touch: (intent: Intent) => void,
  mapError: (err: unknown) => unknown,
): AckResult[] {
  const results: (AckResult | undefined)[] = new Array(items.length);
  const times = new Map<string, number>();
  for (const it of items) times.set(it.id, (times.get(it.id) ?? 0) + 1);
  const bulk: number[] = [];
  items.forEach((it, i) => {
    if (it.kind === "fulfil" && it.token !== null && times.get(it.id) === 1) {
      bulk.push(i);
    }
  });
  if (bulk.length > 1) {
    const args = JSON.stringify(bulk.map((i) => {
      const it = items[i] as Extract<AckItem, { kind: "fulfil" }>;
      return {
        id: it.id,
        token: it.token,
        result: jsonText(it.result),
        type: it.resultType,
        now: it.now,
      };
    }));
    try {
      const done = new Map<string, Row>();
      for (const row of q(FULFIL_MANY_BY_TOKEN).all(args)) {
        done.set(String(row.id), row);
      }
      for (const i of bulk) {
        const row = done.get(items[i].id);
        if (row) results[i] = { ok: true, intent: rowToIntent(row) };
      }
    } catch {
      // SQLite undid the statement: every item goes the single way below.
    }
  }
  return items.map((item, i) => results[i] ?? ackOne(q, item, touch, mapError));
}

function ackOne(
  q: Prepare,
  item: AckItem,
  touch: (intent: Intent) => void,
  mapError: (err: unknown) => unknown,
): AckResult {
  // A fulfil writes with one statement at most (after its checks), so
  // SQLite undoes it alone if it fails; a failure may write twice.
  const guard = item.kind === "fail";
  if (guard) q("SAVEPOINT ack").run();
  try {
    const intent = item.kind === "fulfil"
      ? fulfilOne(q, item)
      : failOne(q, item);
    if (guard) {
      touch(intent);
      q("RELEASE ack").run();
    }
    return { ok: true, intent };
  } catch (err) {
    const error = mapError(err) as Error;
    // SQLite may have ended the whole transaction: fail the whole batch.
    if (error instanceof StorageFullError) throw error;
    if (guard) {
      q("ROLLBACK TO ack").run();
      q("RELEASE ack").run();
    }
    return { ok: false, error };
  }
}

/**
 * The PostgreSQL store: {@linkcode Storage} over a connection pool, so that
 * several servers on several machines share one queue. Claims lock rows
 * with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait for each
 * other nor take one intent twice; the lease rules are those of every store
 * (`storage/lease_rules.ts`). Open it with `openPostgresStore` from
 * `open.ts`.
 *
 * @module
 */

import type pg from "pg";
import type { ClaimedIntent, Intent, JsonValue } from "../../core/intent.ts";
import {
  BusyError,
  ConflictError,
  IntentBusError,
  LimitError,
  ValidationError,
} from "../../core/errors.ts";
import {
  backoffMs,
  checkCancel,
  checkLease,
  checkRestore,
  type LeaseAllow,
  REDRIVE_TTL_MS,
} from "../lease_rules.ts";
import {
  claimOrder,
  jsonText,
  newIntent,
  parseJson,
  publishValues,
  type Row,
  rowToApiKey,
  rowToClaimed,
  rowToIntent,
  statsOf,
} from "../rows.ts";
import type {
  AckItem,
  AckResult,
  ApiKey,
  DeadFilter,
  DeadListParams,
  GoalParams,
  IntentClaimParams,
  IntentFailParams,
  IntentFulfilParams,
  IntentInsertManyParams,
  IntentInsertManyResult,
  IntentInsertParams,
  IntentInsertResult,
  LeaseExtendParams,
  LeaseParams,
  LeaseReapResult,
  MaintenanceParams,
  MaintenanceResult,
  QueueStats,
  Storage,
} from "../storage.ts";
import { channelOf, GoalWatch } from "./goal_watch.ts";
import * as SQL from "./sql.ts";
import { type Outcome, TurnGroup } from "./turn_group.ts";

/** SQLSTATEs that mean "try again": serialization, deadlock, lock, overload, restart. */
const RETRYABLE = new Set([
  "40001",
  "40P01",
  "55P03",
  "53300",
  "57P01",
  "57P02",
  "57P03",
]);

/** Socket errors that mean the database cannot be reached right now. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
]);

/**
 * Turns PostgreSQL and socket errors into the named errors callers catch:
 * a unique violation is a {@linkcode ConflictError}; text with a NUL
 * character a {@linkcode ValidationError}; a deadlock, a
 * serialization failure, overload or an unreachable server a
 * {@linkcode BusyError} (503 with `Retry-After`).
 *
 * @param err Anything thrown.
 * @returns The error to surface.
 */
export function mapPgError(err: unknown): unknown {
  if (err instanceof IntentBusError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string") {
    return /Connection terminated|timeout exceeded when trying to connect/
        .test(err.message)
      ? new BusyError(`Database unavailable: ${err.message}`)
      : err;
  }
  if (code === "23505") {
    return new ConflictError(`Constraint failed: ${err.message}`);
  }
  if (code === "22021" || code === "22P05") {
    // PostgreSQL text cannot hold U+0000; SQLite's can. Refused, not a 500.
    return new ValidationError(
      "Text may not contain NUL characters (U+0000) with the PostgreSQL store",
    );
  }
  if (RETRYABLE.has(code)) {
    return new BusyError(`Database is busy: ${err.message}`);
  }
  if (UNREACHABLE.has(code)) {
    return new BusyError(`Database unavailable: ${err.message}`);
  }
  return err;
}

/** What a statement returns (typed here: the npm build packs without `@types/pg`). */
interface Result {
  rows: Row[];
  rowCount: number | null;
}

/** Something that runs queries: the pool, or one client inside a transaction. */
type Db = pg.Pool | pg.PoolClient;

/** {@linkcode Storage} over PostgreSQL; see the module doc. */
export class PostgresStore implements Storage {
  /** Always `postgres`. */
  readonly name = "postgres";
  #pool: pg.Pool;
  #names = new Map<string, string>();
  #closed = false;
  #fulfils = new TurnGroup<IntentFulfilParams, Intent>((items) =>
    this.#fulfilTurn(items)
  );
  #watch: GoalWatch;

  /**
   * Creates a store over a pool whose connections see a migrated schema.
   *
   * @param pool A `pg` pool.
   * @param connect Makes a client like the pool's, for listening.
   * @param schema The schema, when the queue has one (names its channel).
   */
  constructor(
    pool: pg.Pool,
    connect: () => pg.Client,
    schema?: string,
  ) {
    this.#pool = pool;
    this.#watch = new GoalWatch(
      crypto.randomUUID(),
      channelOf(schema),
      connect,
    );
  }

  /**
   * Calls `fn` with each goal another server sharing the database made
   * claimable; see {@linkcode Storage.watchGoals} and `goal_watch.ts`.
   */
  watchGoals(fn: (namespace: string, goal: string) => void): () => void {
    return this.#watch.add(fn);
  }

  /** Within a transaction: tells the other servers that a goal has work. */
  async #notify(c: Db, namespace: string, goal: string): Promise<void> {
    await this.#q(c, `SELECT pg_notify($1, $2)`, [
      this.#watch.channel,
      `${this.#watch.sender}\n${namespace}\n${goal}`,
    ]);
  }

  /** Runs one statement, prepared once per connection (a named statement). */
  async #q(db: Db, text: string, values: unknown[] = []): Promise<Result> {
    let name = this.#names.get(text);
    if (name === undefined) {
      name = `intentbus_${this.#names.size}`;
      this.#names.set(text, name);
    }
    try {
      return await db.query({ name, text, values }) as Result;
    } catch (err) {
      throw mapPgError(err);
    }
  }

  /** Runs `fn` in one transaction on one pooled connection. */
  async #tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.#pool.connect();
    } catch (err) {
      throw mapPgError(err);
    }
    let broken = false;
    try {
      await c.query("BEGIN");
      const result = await fn(c);
      await c.query("COMMIT");
      return result;
    } catch (err) {
      try {
        await c.query("ROLLBACK");
      } catch {
        broken = true;
      }
      throw mapPgError(err);
    } finally {
      c.release(broken);
    }
  }

  /** Runs `fn` in a savepoint of the transaction on `c`; a throw undoes only it. */
  async #savepoint<T>(c: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
    await c.query("SAVEPOINT item");
    try {
      const result = await fn();
      await c.query("RELEASE item");
      return result;
    } catch (err) {
      await c.query("ROLLBACK TO item");
      await c.query("RELEASE item");
      throw mapPgError(err);
    }
  }

  /** Inserts one intent; see {@linkcode Storage.intentInsert}. */
  intentInsert(p: IntentInsertParams): Promise<IntentInsertResult> {
    if (p.idempotencyKey === null && p.quota === null) {
      return this.#insert(this.#pool, p);
    }
    return this.#tx((c) => this.#insert(c, p));
  }

  /**
   * Inserts many in one transaction; see
   * {@linkcode Storage.intentInsertMany}. Items without an idempotency key
   * or a quota (a master key's batch) go in with one statement; the others
   * one by one, each in a savepoint unless the batch is atomic.
   */
  intentInsertMany(
    params: IntentInsertManyParams,
  ): Promise<IntentInsertManyResult[]> {
    const { items, atomic } = params;
    return this.#tx(async (c) => {
      const plain = items.every((p) =>
        p.idempotencyKey === null && p.quota === null
      );
      const results = plain
        ? await this.#insertPlain(c, items)
        : await this.#insertEach(c, items, atomic);
      const failed = results.findIndex((r) => !r.ok);
      if (!atomic || failed === -1) return results;
      // All or nothing: undo what this transaction did, then report.
      await c.query("ROLLBACK");
      await c.query("BEGIN");
      const error = (results[failed] as { error: Error }).error;
      return items.map((_, j) =>
        j === failed ? { ok: false, error } : {
          ok: false,
          error: new ConflictError(
            `Not stored: item ${failed} of the atomic batch failed: ${error.message}`,
          ),
        }
      );
    });
  }

  /** Items one by one; an atomic batch stops at the first failure. */
  async #insertEach(
    c: pg.PoolClient,
    items: IntentInsertParams[],
    atomic: boolean,
  ): Promise<IntentInsertManyResult[]> {
    const results: IntentInsertManyResult[] = [];
    for (const item of items) {
      try {
        const r = atomic
          ? await this.#insert(c, item)
          : await this.#savepoint(c, () => this.#insert(c, item));
        results.push({ ok: true, ...r });
      } catch (err) {
        results.push({ ok: false, error: mapPgError(err) as Error });
        if (atomic) break;
      }
    }
    return results;
  }

  /** Plain items in one statement; a taken or dead id fails its item alone. */
  async #insertPlain(
    c: Db,
    items: IntentInsertParams[],
  ): Promise<IntentInsertManyResult[]> {
    const columns: unknown[][] = Array.from({ length: 14 }, () => []);
    for (const item of items) {
      publishValues(item).forEach((v, k) => columns[k].push(v));
    }
    const { rows } = await this.#q(c, SQL.INTENT_PUBLISH_MANY, columns);
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
      if (!this.#watch.noticeDue(namespace, goal)) continue;
      if (c !== this.#pool) {
        await this.#notify(c, namespace, goal);
        continue;
      }
      // Outside a transaction the intents are stored already: a notice
      // that fails must not fail them (the other servers re-check anyway).
      await this.#notify(c, namespace, goal).catch(() => {});
    }
    return results;
  }

  /**
   * The body of an insert: idempotency replay or conflict and the quota
   * (each serialised per key by an advisory lock, so `db` is then a
   * transaction's client), then the row.
   */
  async #insert(db: Db, p: IntentInsertParams): Promise<IntentInsertResult> {
    if (p.idempotencyKey !== null) {
      await this.#q(db, SQL.LOCK_KEY, [
        `idem\n${p.publisher}\n${p.idempotencyKey}`,
      ]);
      const { rows } = await this.#q(
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
        const found = await this.#q(db, SQL.INTENT_GET, [rows[0].intent_id]);
        if (found.rows.length > 0) {
          return { intent: rowToIntent(found.rows[0]), replayed: true };
        }
        // The intent was purged: the key no longer protects anything.
        await this.#q(
          db,
          `DELETE FROM idempotency_keys WHERE publisher = $1 AND key = $2`,
          [p.publisher, p.idempotencyKey],
        );
      }
    }
    if (p.quota !== null) {
      await this.#q(db, SQL.LOCK_KEY, [`quota\n${p.publisher}`]);
      const { rows } = await this.#q(db, SQL.PUBLISHER_LIVE, [
        p.publisher,
        p.quota,
      ]);
      if (Number(rows[0].n) >= p.quota) {
        throw new LimitError(`Open intent quota reached: ${p.quota}`);
      }
    }
    let inserted;
    try {
      inserted = this.#watch.noticeDue(p.namespace, p.goal)
        ? await this.#q(db, SQL.INTENT_PUBLISH_NOTIFY, [
          ...publishValues(p),
          this.#watch.sender,
          this.#watch.channel,
        ])
        : await this.#q(db, SQL.INTENT_PUBLISH, publishValues(p));
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
      await this.#q(
        db,
        `INSERT INTO idempotency_keys
           (publisher, key, request_hash, intent_id, created_at)
         VALUES ($1, $2, $3, $4, $5)`,
        [p.publisher, p.idempotencyKey, p.requestHash, p.id, p.now],
      );
    }
    return { intent: newIntent(p), replayed: false };
  }

  /** Claims up to `max` intents; see {@linkcode Storage.intentClaim}. */
  async intentClaim(p: IntentClaimParams): Promise<ClaimedIntent[]> {
    if (!Number.isInteger(p.max) || p.max < 1) {
      throw new RangeError(`Invalid max: ${p.max}`);
    }
    const { rows } = await this.#q(this.#pool, SQL.CLAIM, [
      p.namespace,
      p.goal,
      p.now,
      p.caller,
      p.master,
      p.publisher,
      p.workerId,
      p.capabilities,
      p.now + p.leaseMs,
      p.max,
    ]);
    return rows.sort(claimOrder).map(rowToClaimed);
  }

  /** The live row lease `p` may act on, locked; see {@linkcode checkLease}. */
  async #leased(c: Db, p: LeaseParams, allow: LeaseAllow): Promise<Row> {
    const { rows } = await this.#q(c, SQL.LEASED_ROW, [p.id]);
    const row = rows[0] ?? null;
    const dead = row === null &&
      (await this.#q(c, SQL.DEAD_EXISTS, [p.id])).rows.length > 0;
    checkLease(p, row, dead, allow);
    return row;
  }

  async #fulfil(db: Db, p: IntentFulfilParams): Promise<Intent> {
    const result = jsonText(p.result);
    if (p.token !== null) {
      // The common case in one statement; anything else takes the checks.
      const { rows } = await this.#q(db, SQL.FULFIL_BY_TOKEN, [
        p.id,
        result,
        p.resultType,
        p.now,
        p.token,
      ]);
      if (rows.length > 0) return rowToIntent(rows[0]);
    }
    const slow = async (c: pg.PoolClient) => {
      const live = await this.#leased(c, p, {
        allowOpen: true,
        allowFulfilled: true,
      });
      if (live.state === "fulfilled") {
        return rowToIntent((await this.#q(c, SQL.INTENT_GET, [p.id])).rows[0]);
      }
      const { rows } = await this.#q(
        c,
        `UPDATE intents SET state = 'fulfilled', result = $2, result_type = $3,
           completed_at = $4, updated_at = $4, lease_expires_at = NULL
         WHERE id = $1 RETURNING *`,
        [p.id, result, p.resultType, p.now],
      );
      return rowToIntent(rows[0]);
    };
    return db === this.#pool ? this.#tx(slow) : slow(db as pg.PoolClient);
  }

  async #fail(c: pg.PoolClient, p: IntentFailParams): Promise<Intent> {
    const row = await this.#leased(c, p, { allowOpen: false });
    const attempts = Number(row.claim_attempts);
    // A worker's error text is kept, not refused: PostgreSQL text cannot
    // hold U+0000, so it becomes U+FFFD.
    await this.#q(c, `UPDATE intents SET last_error = $2 WHERE id = $1`, [
      p.id,
      p.error.replaceAll("\u0000", "\uFFFD"),
    ]);
    if (attempts >= Number(row.max_attempts)) {
      return this.#kill(c, p.id, p.now, "attempts_exhausted");
    }
    const runAt = p.now +
      backoffMs(Number(row.backoff_base), attempts, p.jitter);
    const { rows } = await this.#q(
      c,
      `UPDATE intents SET state = 'open', run_at = $2, updated_at = $3,
         claimed_by = NULL, claim_token = NULL, lease_expires_at = NULL
       WHERE id = $1 RETURNING *`,
      [p.id, runAt, p.now],
    );
    return rowToIntent(rows[0]);
  }

  async #kill(
    db: Db,
    id: string,
    now: number,
    reason: string,
  ): Promise<Intent> {
    const { rows } = await this.#q(db, SQL.KILL_ONE, [id, now, reason]);
    return rowToIntent(rows[0]);
  }

  async #restore(c: pg.PoolClient, id: string, now: number): Promise<Intent> {
    const dead = (await this.#q(c, SQL.DEAD_EXISTS, [id])).rows.length > 0;
    const live = !dead &&
      (await this.#q(c, SQL.INTENT_GET, [id])).rows.length > 0;
    checkRestore(id, dead, live);
    const { rows } = await this.#q(c, SQL.RESTORE_ONE, [
      id,
      now,
      now + REDRIVE_TTL_MS,
    ]);
    if (rows.length === 0) {
      // Another server restored it between the check and the move.
      throw new ConflictError(`Intent is not dead: "${id}"`, "invalid_state");
    }
    const intent = rowToIntent(rows[0]);
    await this.#notify(c, intent.namespace, intent.goal);
    return intent;
  }

  /**
   * Finishes a claimed intent; see {@linkcode Storage.intentFulfil}. The
   * fulfils with a token made in one event-loop turn go to the database
   * together ({@linkcode TurnGroup}), and in the order they were made: on
   * a pool, separate statements would race, and of two fulfils with one
   * token the later could store its result first.
   */
  intentFulfil(params: IntentFulfilParams): Promise<Intent> {
    if (params.token === null) return this.#fulfil(this.#pool, params);
    return this.#fulfils.add(params);
  }

  /**
   * A turn's fulfils: those whose id comes once in one statement, outside
   * any transaction (one round trip); what it did not change (a lost lease,
   * a replay, an unknown id, a repeated id) then one by one, in order.
   */
  async #fulfilTurn(items: IntentFulfilParams[]): Promise<Outcome<Intent>[]> {
    const results: (Outcome<Intent> | undefined)[] = new Array(items.length);
    const times = new Map<string, number>();
    for (const it of items) times.set(it.id, (times.get(it.id) ?? 0) + 1);
    const bulk = items.filter((it) => times.get(it.id) === 1);
    if (bulk.length > 1) {
      const { rows } = await this.#q(this.#pool, SQL.FULFIL_MANY_BY_TOKEN, [
        bulk.map((it) => it.id),
        bulk.map((it) => it.token),
        bulk.map((it) => jsonText(it.result)),
        bulk.map((it) => it.resultType),
        bulk.map((it) => it.now),
      ]);
      const done = new Map(rows.map((r: Row) => [String(r.id), r]));
      items.forEach((it, i) => {
        const row = times.get(it.id) === 1 ? done.get(it.id) : undefined;
        if (row) results[i] = { ok: true, value: rowToIntent(row) };
      });
    }
    for (const [i, it] of items.entries()) {
      if (results[i] !== undefined) continue;
      try {
        results[i] = { ok: true, value: await this.#fulfil(this.#pool, it) };
      } catch (error) {
        results[i] = { ok: false, error };
      }
    }
    return results as Outcome<Intent>[];
  }

  /** Fails a claimed intent; see {@linkcode Storage.intentFail}. */
  intentFail(params: IntentFailParams): Promise<Intent> {
    return this.#tx((c) => this.#fail(c, params));
  }

  /**
   * Fulfils or fails many in one transaction, each with its own outcome;
   * see {@linkcode Storage.intentAckMany}. Fulfils with a token (whose id
   * comes once) go first in one statement; the rest run one by one, each
   * in a savepoint.
   */
  intentAckMany(params: { items: AckItem[] }): Promise<AckResult[]> {
    const items = params.items;
    return this.#tx(async (c) => {
      const results: (AckResult | undefined)[] = new Array(items.length);
      const times = new Map<string, number>();
      for (const it of items) times.set(it.id, (times.get(it.id) ?? 0) + 1);
      const bulk = items.flatMap((it, i) =>
        it.kind === "fulfil" && it.token !== null && times.get(it.id) === 1
          ? [{ i, it }]
          : []
      );
      if (bulk.length > 1) {
        const { rows } = await this.#q(c, SQL.FULFIL_MANY_BY_TOKEN, [
          bulk.map((b) => b.it.id),
          bulk.map((b) => b.it.token),
          bulk.map((b) => jsonText((b.it as IntentFulfilParams).result)),
          bulk.map((b) => (b.it as IntentFulfilParams).resultType),
          bulk.map((b) => b.it.now),
        ]);
        const done = new Map(rows.map((r: Row) => [String(r.id), r]));
        for (const { i, it } of bulk) {
          const row = done.get(it.id);
          if (row) results[i] = { ok: true, intent: rowToIntent(row) };
        }
      }
      for (const [i, item] of items.entries()) {
        if (results[i] !== undefined) continue;
        try {
          const intent = await this.#savepoint(
            c,
            () =>
              item.kind === "fulfil"
                ? this.#fulfil(c, item)
                : this.#fail(c, item),
          );
          results[i] = { ok: true, intent };
        } catch (err) {
          results[i] = { ok: false, error: mapPgError(err) as Error };
        }
      }
      return results as AckResult[];
    });
  }

  /** Renews a lease; see {@linkcode Storage.leaseExtend}. */
  leaseExtend(p: LeaseExtendParams): Promise<Intent> {
    return this.#tx(async (c) => {
      await this.#leased(c, p, { allowOpen: false });
      const { rows } = await this.#q(
        c,
        `UPDATE intents SET lease_expires_at = $2, updated_at = $3
         WHERE id = $1 RETURNING *`,
        [p.id, p.now + p.leaseMs, p.now],
      );
      return rowToIntent(rows[0]);
    });
  }

  /** Gives a claimed intent back; see {@linkcode Storage.intentRelease}. */
  intentRelease(p: LeaseParams): Promise<Intent> {
    return this.#tx(async (c) => {
      await this.#leased(c, p, { allowOpen: false });
      const { rows } = await this.#q(
        c,
        `UPDATE intents SET state = 'open', run_at = $2, updated_at = $2,
           claim_attempts = greatest(claim_attempts - 1, 0), claimed_by = NULL,
           claim_token = NULL, lease_expires_at = NULL
         WHERE id = $1 RETURNING *`,
        [p.id, p.now],
      );
      const intent = rowToIntent(rows[0]);
      await this.#notify(c, intent.namespace, intent.goal);
      return intent;
    });
  }

  /** Reads one intent, live or dead; see {@linkcode Storage.intentGet}. */
  async intentGet(params: { id: string }): Promise<Intent | null> {
    const { rows } = await this.#q(this.#pool, SQL.INTENT_GET, [params.id]);
    return rows.length > 0 ? rowToIntent(rows[0]) : null;
  }

  /** Dead-letters an intent; see {@linkcode Storage.intentCancel}. */
  intentCancel(params: { id: string; now: number }): Promise<Intent> {
    return this.#tx(async (c) => {
      const { rows } = await this.#q(
        c,
        `SELECT state FROM intents WHERE id = $1 FOR UPDATE`,
        [params.id],
      );
      const state = rows.length > 0 ? rows[0].state : null;
      const dead = state === null &&
        (await this.#q(c, SQL.DEAD_EXISTS, [params.id])).rows.length > 0;
      checkCancel(params.id, state, dead);
      return this.#kill(c, params.id, params.now, "cancelled");
    });
  }

  /** Brings a dead intent back; see {@linkcode Storage.intentRetry}. */
  intentRetry(params: { id: string; now: number }): Promise<Intent> {
    return this.#tx((c) => this.#restore(c, params.id, params.now));
  }

  /** Deletes a namespace's intents; see {@linkcode Storage.intentPurge}. */
  intentPurge(params: { namespace: string | null }): Promise<number> {
    return this.#tx(async (c) => {
      const where = `WHERE $1::text IS NULL OR namespace = $1`;
      const live = await this.#q(c, `DELETE FROM intents ${where}`, [
        params.namespace,
      ]);
      const dead = await this.#q(c, `DELETE FROM dead_intents ${where}`, [
        params.namespace,
      ]);
      return (live.rowCount ?? 0) + (dead.rowCount ?? 0);
    });
  }

  #deadList(db: Db, p: DeadListParams): Promise<Intent[]> {
    return this.#q(db, SQL.DEAD_LIST, [
      p.namespace ?? null,
      p.goal ?? null,
      p.ids ?? null,
      p.before ?? null,
      p.limit,
    ]).then((r) => r.rows.map(rowToIntent));
  }

  /** Lists dead intents, newest first; see {@linkcode Storage.deadList}. */
  deadList(params: DeadListParams): Promise<Intent[]> {
    return this.#deadList(this.#pool, params);
  }

  /** Reopens dead intents; see {@linkcode Storage.deadRedrive}. */
  deadRedrive(
    params: DeadFilter & { now: number; limit: number },
  ): Promise<Intent[]> {
    return this.#tx(async (c) => {
      const out: Intent[] = [];
      for (
        const dead of await this.#deadList(c, { ...params, before: undefined })
      ) {
        const { rows } = await this.#q(c, SQL.RESTORE_ONE, [
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
        await this.#notify(c, namespace, goal);
      }
      return out;
    });
  }

  /** Reaps expired leases and intents; see {@linkcode Storage.leaseReap}. */
  leaseReap(params: { now: number; jitter: number }): Promise<LeaseReapResult> {
    return this.#tx(async (c) => {
      const a = await this.#q(c, SQL.REAP_DEAD_LEASES, [params.now]);
      const b = await this.#q(c, SQL.REAP_DEAD_EXPIRED, [params.now]);
      const r = await this.#q(c, SQL.REAP_RETRY, [params.now, params.jitter]);
      return {
        dead: (a.rowCount ?? 0) + (b.rowCount ?? 0),
        retried: r.rowCount ?? 0,
      };
    });
  }

  /** Deletes what retention allows; see {@linkcode Storage.maintenanceRun}. */
  maintenanceRun(p: MaintenanceParams): Promise<MaintenanceResult> {
    const cutoff = p.now - p.retentionMs;
    return this.#tx(async (c) => {
      const n = async (sql: string, at: number) =>
        (await this.#q(c, sql, [at])).rowCount ?? 0;
      return {
        intents: await n(
          `DELETE FROM intents WHERE state = 'fulfilled' AND completed_at < $1`,
          cutoff,
        ),
        dead: await n(`DELETE FROM dead_intents WHERE died_at < $1`, cutoff),
        nonces: await n(`DELETE FROM nonces WHERE expires_at <= $1`, p.now),
        idempotencyKeys: await n(
          `DELETE FROM idempotency_keys WHERE created_at < $1`,
          cutoff,
        ),
        kv: await n(`DELETE FROM kv WHERE expires_at <= $1`, p.now),
      };
    });
  }

  /** Stores a value for `owner`; see {@linkcode Storage.kvSet}. */
  async kvSet(
    p: {
      owner: string;
      key: string;
      value: JsonValue;
      expiresAt: number;
      now: number;
    },
  ): Promise<void> {
    await this.#q(
      this.#pool,
      `INSERT INTO kv (owner, key, value, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (owner, key)
       DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
      [p.owner, p.key, JSON.stringify(p.value), p.expiresAt],
    );
  }

  /** Reads a live value, or null; see {@linkcode Storage.kvGet}. */
  async kvGet(
    p: { owner: string; key: string; now: number },
  ): Promise<{ value: JsonValue } | null> {
    const { rows } = await this.#q(
      this.#pool,
      `SELECT value FROM kv WHERE owner = $1 AND key = $2 AND expires_at > $3`,
      [p.owner, p.key, p.now],
    );
    return rows.length > 0 ? { value: parseJson(rows[0].value)! } : null;
  }

  /** Stores an issued key's hash; see {@linkcode Storage.apiKeyInsert}. */
  async apiKeyInsert(
    p: { hash: string; owner: string; now: number },
  ): Promise<ApiKey> {
    const { rows } = await this.#q(
      this.#pool,
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
  async apiKeyGet(params: { hash: string }): Promise<ApiKey | null> {
    const { rows } = await this.#q(
      this.#pool,
      `SELECT * FROM api_keys WHERE hash = $1`,
      [params.hash],
    );
    return rows.length > 0 ? rowToApiKey(rows[0]) : null;
  }

  /** Revokes a key; see {@linkcode Storage.apiKeyRevoke}. */
  async apiKeyRevoke(params: { hash: string; now: number }): Promise<boolean> {
    const r = await this.#q(
      this.#pool,
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
  async nonceUse(
    p: { key: string; nonce: string; expiresAt: number; now: number },
  ): Promise<boolean> {
    const { rows } = await this.#q(
      this.#pool,
      `INSERT INTO nonces (key, nonce, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (key, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
       WHERE nonces.expires_at <= $4
       RETURNING 1 AS used`,
      [p.key, p.nonce, p.expiresAt, p.now],
    );
    return rows.length > 0;
  }

  /** Counts per state and goal; see {@linkcode Storage.statsGet}. */
  async statsGet(params: { now: number }): Promise<QueueStats> {
    const db = this.#pool;
    const [fulfilled, open, claimed, dead, paused] = await Promise.all([
      this.#q(
        db,
        `SELECT count(*) AS n FROM intents WHERE state = 'fulfilled'`,
      ),
      this.#q(
        db,
        `SELECT namespace, goal, count(*) AS n,
           count(*) FILTER (WHERE run_at > $1) AS delayed
         FROM intents WHERE state = 'open' GROUP BY namespace, goal`,
        [params.now],
      ),
      this.#q(
        db,
        `SELECT namespace, goal, count(*) AS n FROM intents
         WHERE state = 'claimed' GROUP BY namespace, goal`,
      ),
      this.#q(
        db,
        `SELECT namespace, goal, count(*) AS n FROM dead_intents
         GROUP BY namespace, goal`,
      ),
      this.#q(db, `SELECT namespace, goal FROM paused_goals`),
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
  async goalPause(params: GoalParams & { now: number }): Promise<void> {
    await this.#q(
      this.#pool,
      `INSERT INTO paused_goals (namespace, goal, paused_at)
       VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [params.namespace, params.goal, params.now],
    );
  }

  /** Lets a paused goal be claimed; see {@linkcode Storage.goalResume}. */
  goalResume(params: GoalParams): Promise<void> {
    return this.#tx(async (c) => {
      const { rowCount } = await this.#q(
        c,
        `DELETE FROM paused_goals WHERE namespace = $1 AND goal = $2`,
        [params.namespace, params.goal],
      );
      if (rowCount) await this.#notify(c, params.namespace, params.goal);
    });
  }

  /** Waits for running queries, then closes the pool; see {@linkcode Storage.close}. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#watch.close();
    await this.#pool.end();
  }
}

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
import { claimOrder, rowToClaimed, rowToIntent } from "../rows.ts";
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
  KvSetParams,
  LeaseExtendParams,
  LeaseParams,
  LeaseReapParams,
  LeaseReapResult,
  MaintenanceParams,
  MaintenanceResult,
  PurgeParams,
  QueueStats,
  Storage,
  StoreMetric,
} from "../storage.ts";
import { channelOf, GoalWatch } from "./goal_watch.ts";
import * as admin from "./admin_ops.ts";
import { PgConnection } from "./connection.ts";
import { insertMany, insertOne } from "./insert_ops.ts";
import {
  ackMany,
  cancelOne,
  extendOne,
  failOne,
  fulfilOne,
  fulfilTurn,
  releaseOne,
  restoreOne,
} from "./lease_ops.ts";
import * as SQL from "./sql.ts";
import { TurnGroup } from "./turn_group.ts";
import { ClaimGroups } from "./claim_groups.ts";

/** {@linkcode Storage} over PostgreSQL; see the module doc. */
export class PostgresStore implements Storage {
  /** Always `postgres`. */
  readonly name = "postgres";
  #conn: PgConnection;
  #closed = false;
  #fulfils = new TurnGroup<IntentFulfilParams, Intent>((items) =>
    fulfilTurn(this.#conn, items)
  );
  #claims = new ClaimGroups((p, total) => {
    const asked = performance.now();
    // A connection checked out here, to know how long the claim waited for
    // one: a lease starts when the claim runs (see SQL.CLAIM, which adds
    // the time the statement itself was held up).
    return this.#conn.client(async (c) => {
      const waited = Math.floor(performance.now() - asked);
      const late = waited > SQL.CLAIM_LATE_MS ? waited : 0;
      const { rows } = await this.#conn.q(c, SQL.CLAIM, [
        p.namespace,
        p.goal,
        p.now,
        p.caller,
        p.master,
        p.publisher,
        p.workerId,
        p.capabilities,
        p.now + p.leaseMs + late,
        total,
      ]);
      return rows.sort(claimOrder).map(rowToClaimed);
    });
  });

  /**
   * Creates a store over a pool whose connections see a migrated schema.
   *
   * @param pool A `pg` pool.
   * @param connect Makes a client like the pool's, for listening.
   * @param schema The schema, when the queue has one (names its channel).
   * @param heartbeatMs How often the listening connection is checked.
   */
  constructor(
    pool: pg.Pool,
    connect: () => pg.Client,
    schema?: string,
    heartbeatMs = 15_000,
  ) {
    this.#conn = new PgConnection(
      pool,
      new GoalWatch(
        crypto.randomUUID(),
        channelOf(schema),
        connect,
        heartbeatMs,
      ),
    );
  }

  /**
   * Calls `fn` with each goal another server sharing the database made
   * claimable; see {@linkcode Storage.watchGoals} and `goal_watch.ts`.
   */
  watchGoals(fn: (namespace: string, goal: string) => void): () => void {
    return this.#conn.watch.add(fn);
  }

  /** Inserts one intent; see {@linkcode Storage.intentInsert}. */
  intentInsert(p: IntentInsertParams): Promise<IntentInsertResult> {
    if (p.idempotencyKey === null && p.quota === null) {
      return insertOne(this.#conn, this.#conn.pool, p);
    }
    return this.#conn.tx((c) => insertOne(this.#conn, c, p));
  }

  /**
   * Inserts many in one transaction; see
   * {@linkcode Storage.intentInsertMany}.
   */
  intentInsertMany(
    params: IntentInsertManyParams,
  ): Promise<IntentInsertManyResult[]> {
    return insertMany(this.#conn, params);
  }

  /**
   * Claims up to `max` intents; see {@linkcode Storage.intentClaim}. A
   * claim that ran more than a second late (a lock, a stalled database, no
   * free connection) gets its lease from when it ran: `now + leaseMs` plus
   * the delay, not a lease already over when it is answered.
   */
  async intentClaim(p: IntentClaimParams): Promise<ClaimedIntent[]> {
    if (!Number.isInteger(p.max) || p.max < 1) {
      throw new RangeError(`Invalid max: ${p.max}`);
    }
    return await this.#claims.add(p);
  }

  /**
   * Finishes a claimed intent; see {@linkcode Storage.intentFulfil}. The
   * fulfils with a token made in one event-loop turn go to the database
   * together ({@linkcode TurnGroup}), and in the order they were made: on
   * a pool, separate statements would race, and of two fulfils with one
   * token the later could store its result first.
   */
  intentFulfil(params: IntentFulfilParams): Promise<Intent> {
    if (params.token === null) {
      return fulfilOne(this.#conn, this.#conn.pool, params);
    }
    return this.#fulfils.add(params);
  }

  /** Fails a claimed intent; see {@linkcode Storage.intentFail}. */
  intentFail(params: IntentFailParams): Promise<Intent> {
    return this.#conn.tx((c) => failOne(this.#conn, c, params));
  }

  /**
   * Fulfils or fails many in one transaction, each with its own outcome;
   * see {@linkcode Storage.intentAckMany}.
   */
  intentAckMany(params: { items: AckItem[] }): Promise<AckResult[]> {
    return ackMany(this.#conn, params);
  }

  /** Renews a lease; see {@linkcode Storage.leaseExtend}. */
  leaseExtend(params: LeaseExtendParams): Promise<Intent> {
    return extendOne(this.#conn, params);
  }

  /** Gives a claimed intent back; see {@linkcode Storage.intentRelease}. */
  intentRelease(params: LeaseParams): Promise<Intent> {
    return releaseOne(this.#conn, params);
  }

  /** Reads one intent, live or dead; see {@linkcode Storage.intentGet}. */
  async intentGet(params: { id: string }): Promise<Intent | null> {
    const { rows } = await this.#conn.q(this.#conn.pool, SQL.INTENT_GET, [
      params.id,
    ]);
    return rows.length > 0 ? rowToIntent(rows[0]) : null;
  }

  /** Dead-letters an intent; see {@linkcode Storage.intentCancel}. */
  intentCancel(params: { id: string; now: number }): Promise<Intent> {
    return cancelOne(this.#conn, params);
  }

  /** Brings a dead intent back; see {@linkcode Storage.intentRetry}. */
  intentRetry(params: { id: string; now: number }): Promise<Intent> {
    return this.#conn.tx((c) =>
      restoreOne(this.#conn, c, params.id, params.now)
    );
  }

  /** Deletes a namespace's intents; see {@linkcode Storage.intentPurge}. */
  intentPurge(params: PurgeParams): Promise<number> {
    return admin.purge(this.#conn, params);
  }

  /** Lists dead intents, newest first; see {@linkcode Storage.deadList}. */
  deadList(params: DeadListParams): Promise<Intent[]> {
    return admin.deadListOn(this.#conn, this.#conn.pool, params);
  }

  /** Reopens dead intents; see {@linkcode Storage.deadRedrive}. */
  deadRedrive(
    params: DeadFilter & { now: number; limit: number },
  ): Promise<Intent[]> {
    return admin.deadRedrive(this.#conn, params);
  }

  /** Reaps expired leases and intents; see {@linkcode Storage.leaseReap}. */
  leaseReap(params: LeaseReapParams): Promise<LeaseReapResult> {
    return admin.reap(this.#conn, params);
  }

  /** Deletes what retention allows; see {@linkcode Storage.maintenanceRun}. */
  maintenanceRun(params: MaintenanceParams): Promise<MaintenanceResult> {
    return admin.maintenance(this.#conn, params);
  }

  /** Stores a value for `owner`; see {@linkcode Storage.kvSet}. */
  kvSet(params: KvSetParams): Promise<void> {
    return admin.kvSet(this.#conn, params);
  }

  /** Reads a live value, or null; see {@linkcode Storage.kvGet}. */
  kvGet(
    params: { owner: string; key: string; now: number },
  ): Promise<{ value: JsonValue } | null> {
    return admin.kvGet(this.#conn, params);
  }

  /** Stores an issued key's hash; see {@linkcode Storage.apiKeyInsert}. */
  apiKeyInsert(
    params: { hash: string; owner: string; now: number },
  ): Promise<ApiKey> {
    return admin.apiKeyInsert(this.#conn, params);
  }

  /** Reads a key by hash, or null; see {@linkcode Storage.apiKeyGet}. */
  apiKeyGet(params: { hash: string }): Promise<ApiKey | null> {
    return admin.apiKeyGet(this.#conn, params);
  }

  /** Revokes a key; see {@linkcode Storage.apiKeyRevoke}. */
  apiKeyRevoke(params: { hash: string; now: number }): Promise<boolean> {
    return admin.apiKeyRevoke(this.#conn, params);
  }

  /** Records a signing nonce; see {@linkcode Storage.nonceUse}. */
  nonceUse(
    params: { key: string; nonce: string; expiresAt: number; now: number },
  ): Promise<boolean> {
    return admin.nonceUse(this.#conn, params);
  }

  /** Counts per state and goal; see {@linkcode Storage.statsGet}. */
  statsGet(params: { now: number }): Promise<QueueStats> {
    return admin.stats(this.#conn, params);
  }

  /** The connection pool's state; see {@linkcode Storage.metricsGet}. */
  metricsGet(): StoreMetric[] {
    const pool = this.#conn.pool;
    return [
      {
        name: "pg_pool_connections",
        help: "Connections the pool holds open, busy or idle.",
        type: "gauge",
        value: pool.totalCount,
      },
      {
        name: "pg_pool_idle_connections",
        help: "Open connections not running a statement.",
        type: "gauge",
        value: pool.idleCount,
      },
      {
        name: "pg_pool_waiting",
        help: "Statements waiting for a free connection.",
        type: "gauge",
        value: pool.waitingCount,
      },
    ];
  }

  /** Stops claims of a goal; see {@linkcode Storage.goalPause}. */
  goalPause(params: GoalParams & { now: number }): Promise<void> {
    return admin.goalPause(this.#conn, params);
  }

  /** Lets a paused goal be claimed; see {@linkcode Storage.goalResume}. */
  goalResume(params: GoalParams): Promise<void> {
    return admin.goalResume(this.#conn, params);
  }

  /**
   * Stops listening, waits for running queries, then closes the pool; see
   * {@linkcode Storage.close}.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#conn.watch.close();
    await this.#conn.pool.end();
  }
}

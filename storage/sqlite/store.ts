/**
 * The SQLite store: {@linkcode Storage} over one connection of any driver.
 * Writes go through a {@linkcode WriteQueue} (group commit); reads run
 * directly; claims go through a {@linkcode Claimer} (a peek, the memory of
 * empty goals, groups sharing one statement). Open it with
 * `openSqliteStore` from `open.ts`.
 *
 * @module
 */

import type { ClaimedIntent, Intent, JsonValue } from "../../core/intent.ts";
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
import type { Connection, Statement } from "./connection.ts";
import { insertMany, insertOne } from "./insert_ops.ts";
import { QuotaBounds } from "./quota_bounds.ts";
import {
  ackMany,
  cancelOne,
  extendOne,
  failOne,
  fulfilOne,
  releaseOne,
  restoreOne,
} from "./lease_ops.ts";
import { rowToIntent } from "../rows.ts";
import * as SQL from "./sql.ts";
import { WriteQueue } from "./write_queue.ts";
import type { Checkpointer, CheckpointStats } from "./checkpointer.ts";
import { checkpointMetrics } from "./checkpoint_metrics.ts";
import { refreshStatistics } from "./statistics.ts";
import * as admin from "./admin_ops.ts";
import { Claimer } from "./claimer.ts";
import { mapSqliteError } from "./map_error.ts";
import { purgeSlices } from "./purge_slices.ts";

export { mapSqliteError } from "./map_error.ts";
export { PURGE_SLICE } from "./purge_slices.ts";

/** How often maintenance checks the planner's statistics. */
const OPTIMIZE_EVERY_MS = 3_600_000;

/** Fulfils served by one statement; see `SqliteStore.intentFulfil`. */
interface FulfilGroup {
  items: IntentFulfilParams[];
  done: Promise<AckResult[]>;
}

/** {@linkcode Storage} over SQLite; see the module doc. */
export class SqliteStore implements Storage {
  /** `sqlite:<driver>`. */
  readonly name: string;
  /** The underlying connection, for diagnostics and tests. */
  readonly db: Connection;
  #cache = new Map<string, Statement>();
  #closed = false;
  #queue: WriteQueue;
  #claims: Claimer;
  #optimizedAt = -Infinity;
  #quota = new QuotaBounds();
  #fulfils: FulfilGroup | null = null;
  #checkpointer: Checkpointer | null = null;
  #q: SQL.Prepare = (sql) => {
    let stmt = this.#cache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.#cache.set(sql, stmt);
    }
    return stmt;
  };

  /**
   * Creates a store over an open connection.
   *
   * @param db A migrated connection with its PRAGMAs set.
   * @param options The checkpoint thread, if any, and how long a write
   *   waits for another process's write lock (see `WriteQueueOptions`).
   */
  constructor(
    db: Connection,
    options: { checkpointer?: Checkpointer; busyWaitMs?: number } = {},
  ) {
    this.db = db;
    this.name = `sqlite:${db.driver}`;
    this.#queue = new WriteQueue(db, mapSqliteError, {
      busyWaitMs: options.busyWaitMs,
    });
    this.#claims = new Claimer(this.#queue, this.#q);
    const cp = options.checkpointer;
    if (cp !== undefined) {
      this.#checkpointer = cp;
      this.#queue.onCommit = () => cp.committed();
      cp.attach(this.#queue, () => {
        // The thread died: SQLite checkpoints inside commits again.
        this.#queue.onCommit = null;
        if (!this.#closed) db.exec("PRAGMA wal_autocheckpoint = 1000");
      });
    }
  }

  /** What the checkpoint thread has done; undefined without one. */
  get checkpoints(): CheckpointStats | undefined {
    return this.#checkpointer?.stats;
  }

  /** The checkpoint thread's counters; see {@linkcode Storage.metricsGet}. */
  metricsGet(): StoreMetric[] {
    const stats = this.#checkpointer?.stats;
    return stats ? checkpointMetrics(stats) : [];
  }

  /**
   * Queues a write. `single`: `fn` writes with one statement at most, after
   * any reads, so it needs no savepoint (see `write_queue.ts`).
   */
  #write<T>(fn: (q: SQL.Prepare) => T, single = false): Promise<T> {
    return this.#queue.run(() => fn(this.#q), single);
  }

  #read<T>(fn: (q: SQL.Prepare) => T): Promise<T> {
    try {
      return Promise.resolve(fn(this.#q));
    } catch (err) {
      return Promise.reject(mapSqliteError(err));
    }
  }

  /** Inserts one intent; see {@linkcode Storage.intentInsert}. */
  intentInsert(params: IntentInsertParams): Promise<IntentInsertResult> {
    return this.#write((q) => {
      this.#claims.touch(params);
      return insertOne(q, params, this.#quota);
    }, params.idempotencyKey === null);
  }

  /** Inserts many in one transaction; see {@linkcode Storage.intentInsertMany}. */
  intentInsertMany(
    params: IntentInsertManyParams,
  ): Promise<IntentInsertManyResult[]> {
    return this.#write((q) => {
      for (const item of params.items) this.#claims.touch(item);
      return insertMany(
        q,
        params.items,
        params.atomic,
        this.#quota,
        mapSqliteError,
      );
    });
  }

  /** Claims up to `max` intents; see {@linkcode Storage.intentClaim}. */
  intentClaim(p: IntentClaimParams): Promise<ClaimedIntent[]> {
    return this.#claims.claim(p);
  }

  /**
   * Finishes a claimed intent; see {@linkcode Storage.intentFulfil}. The
   * fulfils with a token that come before the write batch runs share one
   * statement, as an acknowledgement of many does (`ackMany`); each still
   * gets its own outcome.
   */
  intentFulfil(params: IntentFulfilParams): Promise<Intent> {
    if (params.token === null) {
      return this.#write((q) => fulfilOne(q, params), true);
    }
    let group = this.#fulfils;
    if (group === null) {
      const g: FulfilGroup = { items: [], done: null! };
      const close = () => {
        if (this.#fulfils === g) this.#fulfils = null;
      };
      g.done = this.#write((q) => {
        close();
        return ackMany(
          q,
          g.items.map((p) => ({ kind: "fulfil", ...p })),
          (i) => this.#claims.touch(i),
          mapSqliteError,
        );
      });
      // A batch refused before it ran (busy) closes the group too.
      g.done.then(close, close);
      group = this.#fulfils = g;
    }
    const index = group.items.push(params) - 1;
    return group.done.then((all) => {
      const r = all[index];
      if (r.ok) return r.intent;
      throw r.error;
    });
  }

  /** Fails a claimed intent; see {@linkcode Storage.intentFail}. */
  intentFail(params: IntentFailParams): Promise<Intent> {
    return this.#write((q) => {
      const intent = failOne(q, params);
      this.#claims.touch(intent);
      return intent;
    });
  }

  /** Fulfils or fails many; see {@linkcode Storage.intentAckMany}. */
  intentAckMany(params: { items: AckItem[] }): Promise<AckResult[]> {
    return this.#write((q) =>
      ackMany(q, params.items, (i) => this.#claims.touch(i), mapSqliteError)
    );
  }

  /** Renews a lease; see {@linkcode Storage.leaseExtend}. */
  leaseExtend(params: LeaseExtendParams): Promise<Intent> {
    return this.#write((q) => extendOne(q, params), true);
  }

  /** Gives a claimed intent back; see {@linkcode Storage.intentRelease}. */
  intentRelease(params: LeaseParams): Promise<Intent> {
    return this.#write((q) => {
      const intent = releaseOne(q, params);
      this.#claims.touch(intent);
      return intent;
    }, true);
  }

  /** Reads one intent, live or dead; see {@linkcode Storage.intentGet}. */
  intentGet(params: { id: string }): Promise<Intent | null> {
    return this.#read((q) => {
      const row = q(SQL.INTENT_GET).get(params.id) ??
        q(SQL.DEAD_GET).get(params.id);
      return row ? rowToIntent(row) : null;
    });
  }

  /** Dead-letters an intent; see {@linkcode Storage.intentCancel}. */
  intentCancel(params: { id: string; now: number }): Promise<Intent> {
    return this.#write((q) => cancelOne(q, params.id, params.now));
  }

  /** Brings a dead intent back; see {@linkcode Storage.intentRetry}. */
  intentRetry(params: { id: string; now: number }): Promise<Intent> {
    return this.#write((q) => {
      const intent = restoreOne(q, params.id, params.now);
      this.#claims.touch(intent);
      this.#quota.clear();
      return intent;
    });
  }

  /**
   * Deletes a namespace's intents, or all; see
   * {@linkcode Storage.intentPurge}. One namespace's rows are looked for in
   * slices of {@linkcode PURGE_SLICE} rowids, each its own write: no index
   * leads with the namespace for every state, and one statement scanned the
   * whole table, again at each chunk (20,000 rows among 1,000,000: 2.9 s
   * with every request held up).
   */
  async intentPurge(params: PurgeParams): Promise<number> {
    // Deleting never makes an intent claimable: the claim memory stays.
    if (params.namespace === null) {
      return this.#write((q) => admin.purge(q, params));
    }
    return await purgeSlices(
      params,
      (fn) => this.#read(fn),
      (fn) => this.#write(fn),
    );
  }

  /** Lists dead intents, newest first; see {@linkcode Storage.deadList}. */
  deadList(params: DeadListParams): Promise<Intent[]> {
    return this.#read((q) => admin.deadList(q, params));
  }

  /** Reopens dead intents; see {@linkcode Storage.deadRedrive}. */
  deadRedrive(
    params: DeadFilter & { now: number; limit: number },
  ): Promise<Intent[]> {
    return this.#write((q) =>
      admin.deadList(q, { ...params, before: undefined })
        .map((dead) => {
          const intent = restoreOne(q, dead.id, params.now);
          this.#claims.touch(intent);
          this.#quota.clear();
          return intent;
        })
    );
  }

  /** Reaps expired leases and intents; see {@linkcode Storage.leaseReap}. */
  leaseReap(params: LeaseReapParams): Promise<LeaseReapResult> {
    return this.#write((q) => {
      const done = admin.reap(q, params);
      // Only leases put back make intents claimable; clearing every second
      // regardless made each claim filter walk its backlog again.
      if (done.retried > 0) this.#claims.empty.clear();
      return done;
    });
  }

  /** Deletes what retention allows; see {@linkcode Storage.maintenanceRun}. */
  maintenanceRun(params: MaintenanceParams): Promise<MaintenanceResult> {
    // Deleting finished intents never makes one claimable: the claim
    // memory stays (emptying it each minute made every claim filter walk
    // another key's backlog again).
    return this.#write((q) => {
      // Hourly: statistics kept near the truth as the tables grow.
      if (params.now - this.#optimizedAt >= OPTIMIZE_EVERY_MS) {
        this.#optimizedAt = params.now;
        refreshStatistics(this.db);
      }
      return admin.maintenance(q, params);
    });
  }

  /** Stores a value for `owner`; see {@linkcode Storage.kvSet}. */
  kvSet(
    p: KvSetParams,
  ): Promise<void> {
    return this.#write((q) => {
      q(`INSERT OR REPLACE INTO kv (owner, key, value, expires_at)
         VALUES (?1, ?2, ?3, ?4)`)
        .run(p.owner, p.key, JSON.stringify(p.value), p.expiresAt);
    });
  }

  /** Reads a live value, or null; see {@linkcode Storage.kvGet}. */
  kvGet(
    p: { owner: string; key: string; now: number },
  ): Promise<{ value: JsonValue } | null> {
    return this.#read((q) => admin.kvGet(q, p));
  }

  /** Stores an issued key's hash; see {@linkcode Storage.apiKeyInsert}. */
  apiKeyInsert(
    p: { hash: string; owner: string; now: number },
  ): Promise<ApiKey> {
    return this.#write((q) => admin.apiKeyInsert(q, p));
  }

  /** Reads a key by hash, or null; see {@linkcode Storage.apiKeyGet}. */
  apiKeyGet(params: { hash: string }): Promise<ApiKey | null> {
    return this.#read((q) => admin.apiKeyGet(q, params.hash));
  }

  /** Revokes a key; see {@linkcode Storage.apiKeyRevoke}. */
  apiKeyRevoke(params: { hash: string; now: number }): Promise<boolean> {
    return this.#write((q) =>
      q(`UPDATE api_keys SET revoked_at = ?2
         WHERE hash = ?1 AND revoked_at IS NULL`)
        .run(params.hash, params.now) > 0
    );
  }

  /** Records a signing nonce; see {@linkcode Storage.nonceUse}. */
  nonceUse(
    p: { key: string; nonce: string; expiresAt: number; now: number },
  ): Promise<boolean> {
    return this.#write((q) => admin.nonceUse(q, p));
  }

  /** Counts per state and goal; see {@linkcode Storage.statsGet}. */
  statsGet(params: { now: number }): Promise<QueueStats> {
    return this.#read((q) => admin.stats(q, params.now));
  }

  /** Stops claims of a goal; see {@linkcode Storage.goalPause}. */
  goalPause(params: GoalParams & { now: number }): Promise<void> {
    return this.#write((q) => {
      q(`INSERT OR IGNORE INTO paused_goals (namespace, goal, paused_at)
         VALUES (?1, ?2, ?3)`).run(params.namespace, params.goal, params.now);
    });
  }

  /** Lets a paused goal be claimed; see {@linkcode Storage.goalResume}. */
  goalResume(params: GoalParams): Promise<void> {
    return this.#write((q) => {
      this.#claims.touch(params);
      q(`DELETE FROM paused_goals WHERE namespace = ?1 AND goal = ?2`)
        .run(params.namespace, params.goal);
    });
  }

  /** Finishes pending writes and closes; see {@linkcode Storage.close}. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.close();
    // Its connection first: this one, closing last, checkpoints what is
    // left and removes the WAL.
    await this.#checkpointer?.close();
    try {
      this.db.exec("PRAGMA optimize");
    } catch {
      // Only an optimisation: it may find the file busy when another process
      // writes (SQLite then returns BUSY without waiting); close regardless.
    }
    this.#cache.clear();
    this.db.close();
  }
}

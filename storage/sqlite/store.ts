/**
 * The SQLite store: {@linkcode Storage} over one connection of any driver.
 * Writes go through a {@linkcode WriteQueue} (group commit); reads run
 * directly. Open it with `openSqliteStore` from `open.ts`.
 *
 * @module
 */

import type { ClaimedIntent, Intent, JsonValue } from "../../core/intent.ts";
import {
  BusyError,
  ConflictError,
  IntentBusError,
  StorageFullError,
} from "../../core/errors.ts";
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
import {
  type Connection,
  SQLITE_BUSY,
  SQLITE_CONSTRAINT,
  SQLITE_FULL,
  SQLITE_LOCKED,
  SQLITE_READONLY,
  SqliteError,
  type SqlValue,
  type Statement,
} from "./connection.ts";
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
import { claimOrder, rowToClaimed, rowToIntent } from "../rows.ts";
import { CLAIM_GROUP_MAX, claimGroupKey, shareOut } from "../claim_sharing.ts";
import * as SQL from "./sql.ts";
import { WriteQueue } from "./write_queue.ts";
import {
  type Checkpointer,
  checkpointMetrics,
  type CheckpointStats,
} from "./checkpointer.ts";
import { EmptyGoals } from "./empty_goals.ts";
import { refreshStatistics } from "./statistics.ts";
import * as admin from "./admin_ops.ts";

/**
 * Turns driver errors into the named errors callers catch: busy and locked
 * become {@linkcode BusyError}, constraint failures {@linkcode ConflictError}.
 *
 * @param err Anything thrown.
 * @returns The error to surface.
 */
export function mapSqliteError(err: unknown): unknown {
  if (err instanceof IntentBusError || !(err instanceof SqliteError)) {
    return err;
  }
  if (err.code === SQLITE_BUSY || err.code === SQLITE_LOCKED) {
    return new BusyError(`Database is busy: ${err.message}`);
  }
  if (err.code === SQLITE_CONSTRAINT) {
    return new ConflictError(`Constraint failed: ${err.message}`);
  }
  if (err.code === SQLITE_FULL) {
    return new StorageFullError(
      `The database is full, nothing was written: ${err.message}`,
    );
  }
  if (err.code === SQLITE_READONLY) {
    // The file became unwritable under a running server (its mode or
    // owner changed, or a -wal or -shm of another user): nothing was
    // written, and a retry works once an operator mends it.
    return new BusyError(
      `The database file cannot be written, nothing was written (check the owner and mode of it and of its -wal and -shm files): ${err.message}`,
    );
  }
  return err;
}

/** How often maintenance checks the planner's statistics. */
const OPTIMIZE_EVERY_MS = 3_600_000;

/** Rowids a purge of one namespace looks through in one write. */
export const PURGE_SLICE = 2000;

/** Fulfils served by one statement; see `SqliteStore.intentFulfil`. */
interface FulfilGroup {
  items: IntentFulfilParams[];
  done: Promise<AckResult[]>;
}

/** Claims served by one statement; see `SqliteStore.#claimGroup`. */
interface ClaimGroup {
  /** Sum of the members' `max`. */
  total: number;
  /** Each member's `max`, in arrival order. */
  maxes: number[];
  /** Each member's share, once committed. */
  done: Promise<ClaimedIntent[][]>;
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
  #empty = new EmptyGoals();
  #optimizedAt = -Infinity;
  #quota = new QuotaBounds();
  #groups = new Map<string, ClaimGroup>();
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
      this.#touch(params);
      return insertOne(q, params, this.#quota);
    }, params.idempotencyKey === null);
  }

  /** Inserts many in one transaction; see {@linkcode Storage.intentInsertMany}. */
  intentInsertMany(
    params: IntentInsertManyParams,
  ): Promise<IntentInsertManyResult[]> {
    return this.#write((q) => {
      for (const item of params.items) this.#touch(item);
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
    if (!Number.isInteger(p.max) || p.max < 1) {
      return Promise.reject(new RangeError(`Invalid max: ${p.max}`));
    }
    const group = claimGroupKey(p);
    const pending = this.#groups.get(group);
    if (pending !== undefined && pending.total + p.max <= CLAIM_GROUP_MAX) {
      const index = pending.maxes.push(p.max) - 1;
      pending.total += p.max;
      return pending.done.then((all) => all[index]);
    }
    const key = `${p.namespace}\n${p.goal}`;
    const args: SqlValue[] = [
      p.namespace,
      p.goal,
      p.now,
      p.caller,
      p.master ? 1 : 0,
      p.publisher,
      p.workerId,
      JSON.stringify(p.capabilities),
    ];
    // JSON: a worker id "null" is not the absence of one.
    const filter = `${p.caller}\n${p.master}\n${JSON.stringify(p.publisher)}\n${
      JSON.stringify(p.workerId)
    }\n${args[7]}`;
    try {
      if (
        this.#empty.has(key, filter) && this.#empty.isEmpty(
          key,
          Number(this.#q(SQL.DATA_VERSION).get()!.data_version),
          p.now,
          filter,
        )
      ) return Promise.resolve([]);
      // A read first: an empty poll never takes the write lock. The version
      // is read in the same snapshot, so a commit by another process after
      // it changes the version and the memory below is not trusted.
      const peek = this.#q(SQL.claimPeekVersion(p.max)).all(...args);
      if (peek[0].id === null) {
        this.#rememberEmpty(key, filter, Number(peek[0].dv), p);
        return Promise.resolve([]);
      }
    } catch (err) {
      return Promise.reject(mapSqliteError(err));
    }
    return this.#claimGroup(group, p.max, args, p.now + p.leaseMs);
  }

  /**
   * Queues a claim as the first of a group: claims with the same filters
   * and time that come before the write batch runs join it without a peek
   * of their own, and one `UPDATE … LIMIT total` serves them all, handing
   * rows out in claim order, first come first served. A member joins only
   * what is already taking the write lock, so an empty poll still never
   * takes it by itself.
   */
  #claimGroup(
    key: string,
    max: number,
    args: SqlValue[],
    leaseEnd: number,
  ): Promise<ClaimedIntent[]> {
    const group: ClaimGroup = { total: max, maxes: [max], done: null! };
    this.#groups.set(key, group);
    const close = () => {
      if (this.#groups.get(key) === group) this.#groups.delete(key);
    };
    group.done = this.#queue.run(() => {
      close();
      const rows = this.#q(SQL.claimUpdate(group.total))
        .all(...args, leaseEnd).sort(claimOrder).map(rowToClaimed);
      return shareOut(rows, group.maxes);
    }, true);
    // A batch refused before it ran (busy) closes the group too, first.
    group.done.then(close, close);
    return group.done.then((all) => all[0]);
  }

  /**
   * After an empty peek: remember the goal if nothing at all is due, else
   * that nothing due is for this claim's filters.
   */
  #rememberEmpty(
    key: string,
    filter: string,
    version: number,
    p: IntentClaimParams,
  ): void {
    const due = this.#q(SQL.GOAL_DUE).get(p.namespace, p.goal, p.now);
    const next = this.#q(SQL.GOAL_NEXT).get(p.namespace, p.goal, p.now)?.next;
    const until = next === null || next === undefined ? Infinity : Number(next);
    if (!due) this.#empty.remember(key, version, p.now, until);
    else {
      const caller = p.master ? null : p.caller;
      this.#empty.rememberFor(key, filter, caller, version, p.now, until);
    }
  }

  /**
   * Within a write: a goal may have a newly claimable intent, visible to
   * its publisher's key alone when private and for any worker, else to all.
   */
  #touch(intent: {
    namespace: string;
    goal: string;
    visibility?: string;
    publisher?: string;
    targetWorker?: string | null;
    requiredCapability?: string | null;
  }): void {
    const only = intent.visibility === "private" &&
      intent.publisher !== undefined && !intent.targetWorker &&
      !intent.requiredCapability;
    this.#empty.touch(`${intent.namespace}\n${intent.goal}`, {
      caller: only ? intent.publisher! : null,
    });
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
          (i) => this.#touch(i),
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
      this.#touch(intent);
      return intent;
    });
  }

  /** Fulfils or fails many; see {@linkcode Storage.intentAckMany}. */
  intentAckMany(params: { items: AckItem[] }): Promise<AckResult[]> {
    return this.#write((q) =>
      ackMany(q, params.items, (i) => this.#touch(i), mapSqliteError)
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
      this.#touch(intent);
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
      this.#touch(intent);
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
    const limit = params.limit ?? Infinity;
    let deleted = 0;
    for (const table of ["intents", "dead_intents"] as const) {
      const top = await this.#read((q) => admin.maxRowid(q, table));
      let taken = 0;
      for (let lo = 0; lo < top && taken < limit; lo += PURGE_SLICE) {
        taken += await this.#write((q) =>
          admin.purgeSlice(
            q,
            table,
            params,
            lo,
            lo + PURGE_SLICE,
            limit - taken,
          )
        );
      }
      deleted += taken;
    }
    return deleted;
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
          this.#touch(intent);
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
      if (done.retried > 0) this.#empty.clear();
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
      this.#touch(params);
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

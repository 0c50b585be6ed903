/**
 * The one seam between the queue and its database. The server uses nothing
 * else; every store (SQLite through any driver, PostgreSQL) implements
 * it and runs the shared conformance suite in `storage/testing/`.
 *
 * Methods are named noun first, take one params object, return domain types
 * from `core/`, and are async even where the database is synchronous (but
 * for `metricsGet`, which reads counters kept in memory). Times
 * are unix milliseconds and always passed in (`now`), never read from a
 * clock inside the store. Methods throw the named errors of `core/errors.ts`.
 *
 * @module
 */

import type {
  ClaimedIntent,
  Intent,
  JsonValue,
  ResultType,
  Visibility,
} from "../core/intent.ts";

/** A new intent, already validated by the caller. */
export interface IntentInsertParams {
  /** 32 lowercase hex characters, made by the caller. */
  id: string;
  /** The queue space, such as `default`. */
  namespace: string;
  /** The kind of work; workers claim by goal. */
  goal: string;
  /** The publisher's input for the worker. */
  payload: JsonValue;
  /** Higher is claimed first; 0 to 1000. */
  priority: number;
  /** Who may claim it: only the publisher's key (`private`) or any key. */
  visibility: Visibility;
  /** Only a claimer with this worker id may claim it, if set. */
  targetWorker: string | null;
  /** Only a claimer listing this capability may claim it, if set. */
  requiredCapability: string | null;
  /** Claims allowed before a failure or expired lease dead-letters it. */
  maxAttempts: number;
  /** Seconds. */
  backoffBase: number;
  /** Hash of the publisher's key. */
  publisher: string;
  /** Most open plus claimed intents `publisher` may have, or null for no cap. */
  quota: number | null;
  /** Replays with the same key and `requestHash` return the stored intent. */
  idempotencyKey: string | null;
  /** A hash of the request body, to tell a replay from a conflicting reuse. */
  requestHash: string | null;
  /** Not claimable before this time, unix ms. */
  runAt: number;
  /** Dead-lettered (`expired`) if still unfinished at this time, unix ms. */
  expiresAt: number;
  /** The current time, unix ms. */
  now: number;
}

/** The outcome of an insert: the intent, and whether it already existed. */
export interface IntentInsertResult {
  /** The stored intent: the new one, or the earlier one on a replay. */
  intent: Intent;
  /** True when an idempotency key matched an earlier identical request. */
  replayed: boolean;
}

/** Several inserts in one transaction. */
export interface IntentInsertManyParams {
  /** The intents to insert, in order. */
  items: IntentInsertParams[];
  /** All or nothing: the first failing item fails them all, and nothing is stored. */
  atomic: boolean;
}

/** Per-item outcome of {@linkcode Storage.intentInsertMany}. */
export type IntentInsertManyResult =
  | ({ ok: true } & IntentInsertResult)
  | { ok: false; error: Error };

/** Who may claim what, and for how long. */
export interface IntentClaimParams {
  /** The queue space to claim from. */
  namespace: string;
  /** The goal to claim. */
  goal: string;
  /** Hash of the claiming key. */
  caller: string;
  /** The master key sees every private intent. */
  master: boolean;
  /** Only intents of this publisher hash, if set. */
  publisher: string | null;
  /** The claimer's worker id; intents with a `targetWorker` need it to match. */
  workerId: string | null;
  /** Intents with a `requiredCapability` need it to be in this list. */
  capabilities: string[];
  /** Lease length, ms. */
  leaseMs: number;
  /** Most intents to claim, at least 1. */
  max: number;
  /** The current time, unix ms. */
  now: number;
}

/** Identifies a lease: by token, or (token null) by the key holding a live lease. */
export interface LeaseParams {
  /** The intent's id. */
  id: string;
  /** The claim token; null only for the v1.1 form, valid while `caller` holds a live lease. */
  token: string | null;
  /** Hash of the calling key. */
  caller: string;
  /** The current time, unix ms. */
  now: number;
}

/** Fulfil: store the result and finish the intent. */
export interface IntentFulfilParams extends LeaseParams {
  /** What the worker returned, stored with the intent. */
  result: JsonValue | null;
  /** How `result` is stored: `json`, or `text` for a string. */
  resultType: ResultType;
}

/** Fail: record the error, then retry after backoff or dead-letter. */
export interface IntentFailParams extends LeaseParams {
  /** The worker's error message, kept as `lastError`. */
  error: string;
  /** A number in [0, 1) scaling the random part of the backoff. */
  jitter: number;
}

/** Extend: the lease ends `leaseMs` after `now`. */
export interface LeaseExtendParams extends LeaseParams {
  /** New lease length from `now`, ms. */
  leaseMs: number;
}

/** A batch acknowledgement item: fulfil or fail one intent. */
export type AckItem =
  | ({ kind: "fulfil" } & IntentFulfilParams)
  | ({ kind: "fail" } & IntentFailParams);

/** Per-item outcome of {@linkcode Storage.intentAckMany}. */
export type AckResult = { ok: true; intent: Intent } | {
  ok: false;
  error: Error;
};

/** Filter for dead-letter listing and redrive. */
export interface DeadFilter {
  /** Only this queue space. */
  namespace?: string;
  /** Only this goal. */
  goal?: string;
  /** Only these ids. */
  ids?: string[];
}

/** A page of the dead-letter table, newest first. */
export interface DeadListParams extends DeadFilter {
  /** Most intents to return. */
  limit: number;
  /** Only intents that died before this time, unix ms (for paging). */
  before?: number;
  /**
   * With `before`, also the intents that died at `before` itself whose id is
   * below this one: the list's order is (died at, id), both descending, so
   * the last entry's death time (its `updatedAt`, which a dead intent keeps
   * from the moment it died) and id continue a page after it, even through
   * many deaths in one millisecond. Ignored without `before`.
   */
  beforeId?: string;
}

/** What {@linkcode Storage.leaseReap} takes. */
export interface LeaseReapParams {
  /** The current time, unix ms. */
  now: number;
  /** In [0, 1): the backoff's jitter for the leases put back. */
  jitter: number;
  /**
   * Moves at most this many rows in each of the reap's three steps (dead
   * leases, expired intents, leases put back), so that one call stays
   * short; call again while a count reaches it. All that is due when
   * omitted.
   */
  limit?: number;
}

/** What a reap did. */
export interface LeaseReapResult {
  /** Expired leases put back to open, after backoff. */
  retried: number;
  /** Intents dead-lettered: last attempt's lease expired, or past `expiresAt`. */
  dead: number;
}

/** One figure of {@linkcode Storage.metricsGet}, as Prometheus shows it. */
export interface StoreMetric {
  /** Without the `intent_bus_` prefix, e.g. `sqlite_wal_frames`. */
  name: string;
  /** One line saying what it counts. */
  help: string;
  /** `counter` only ever grows; `gauge` goes up and down. */
  type: "counter" | "gauge";
  /** Its value now. */
  value: number;
}

/** What {@linkcode Storage.intentPurge} deletes. */
export interface PurgeParams {
  /** One namespace's intents, or every namespace's when null. */
  namespace: string | null;
  /** Only intents created at or before this, unix ms: none published later. */
  now: number;
  /** At most this many rows of each table per call; all when omitted. */
  limit?: number;
}

/** Retention settings for {@linkcode Storage.maintenanceRun}. */
export interface MaintenanceParams {
  /** The current time, unix ms. */
  now: number;
  /** Fulfilled and dead intents, and idempotency keys, older than this (ms) are deleted. */
  retentionMs: number;
  /**
   * Deletes at most this many rows of each table, so that one call stays
   * short; call again while a count reaches it. All that is due when omitted.
   */
  limit?: number;
}

/** What maintenance deleted. */
export interface MaintenanceResult {
  /** Fulfilled intents deleted. */
  intents: number;
  /** Dead-letter rows deleted. */
  dead: number;
  /** Expired signing nonces deleted. */
  nonces: number;
  /** Idempotency keys deleted. */
  idempotencyKeys: number;
  /** Expired KV values deleted. */
  kv: number;
}

/** An issued API key; only its hash is stored. */
export interface ApiKey {
  /** SHA-256 hex of the key. */
  hash: string;
  /** Who the key was issued to, as given at issue. */
  owner: string;
  /** When it was issued, unix ms. */
  createdAt: number;
  /** When it was revoked, unix ms, or null while live. */
  revokedAt: number | null;
}

/** A KV write: a value under a key private to its owner. */
export interface KvSetParams {
  /** Hash of the owning API key. */
  owner: string;
  /** The key, 1 to 256 characters. */
  key: string;
  /** Any JSON value. */
  value: JsonValue;
  /** When it vanishes, unix ms. */
  expiresAt: number;
  /** The current time, unix ms. */
  now: number;
}

/** Counts for metrics and the dashboard. */
export interface QueueStats {
  /** Intents per state, across all namespaces; `dead` counts the dead-letter table. */
  states: Record<"open" | "claimed" | "fulfilled" | "dead", number>;
  /** Per namespace and goal: open, claimed, delayed (open, not yet due) and dead. */
  goals: GoalStats[];
}

/** Counts for one goal. */
export interface GoalStats {
  /** The queue space. */
  namespace: string;
  /** The goal. */
  goal: string;
  /** Open intents, due or not. */
  open: number;
  /** Open intents not yet due (part of `open`). */
  delayed: number;
  /** Intents under lease. */
  claimed: number;
  /** Intents in the dead-letter table. */
  dead: number;
  /** Whether claims are stopped by {@linkcode Storage.goalPause}. */
  paused: boolean;
}

/** Names one goal. */
export interface GoalParams {
  /** The queue space. */
  namespace: string;
  /** The goal. */
  goal: string;
}

/**
 * The storage seam. See the module doc for conventions.
 */
export interface Storage {
  /** The store and driver, such as `sqlite:ffi`, for logs and `/health`. */
  readonly name: string;

  /**
   * Inserts one intent, honouring its idempotency key and the publisher's quota.
   * @throws {ConflictError} `idempotency_conflict` when the key was used for a different request.
   * @throws {LimitError} when the publisher's quota is reached.
   */
  intentInsert(params: IntentInsertParams): Promise<IntentInsertResult>;

  /** Inserts many intents in one transaction; see {@linkcode IntentInsertManyParams.atomic}. */
  intentInsertMany(
    params: IntentInsertManyParams,
  ): Promise<IntentInsertManyResult[]>;

  /**
   * Claims up to `max` claimable intents in claim order (priority descending,
   * then `runAt`, `claimAttempts`, `createdAt`), leasing each with a fresh token.
   * Takes no write lock when nothing is claimable. Returns `[]` when none is.
   */
  intentClaim(params: IntentClaimParams): Promise<ClaimedIntent[]>;

  /**
   * Finishes a claimed intent. Accepted with the current token even after the
   * lease expired, as long as no other claim took over. Idempotent: a replay
   * with the token of the claim that fulfilled it returns the stored intent
   * unchanged.
   * @throws {LeaseLostError} when the token is stale or the intent is not leased to the caller.
   * @throws {NotFoundError} when there is no such intent.
   */
  intentFulfil(params: IntentFulfilParams): Promise<Intent>;

  /**
   * Fails a claimed intent: open again after backoff, or dead when its
   * attempts are used up.
   * @throws {LeaseLostError} @throws {NotFoundError}
   */
  intentFail(params: IntentFailParams): Promise<Intent>;

  /** Fulfils or fails many intents in one transaction, each on its own. */
  intentAckMany(params: { items: AckItem[] }): Promise<AckResult[]>;

  /**
   * Renews a lease to `now + leaseMs`.
   * @throws {LeaseLostError} @throws {NotFoundError}
   */
  leaseExtend(params: LeaseExtendParams): Promise<Intent>;

  /**
   * Gives a claimed intent back without using up an attempt: it is open and
   * due at once.
   * @throws {LeaseLostError} @throws {NotFoundError}
   */
  intentRelease(params: LeaseParams): Promise<Intent>;

  /** Reads one intent, live or dead, or null. */
  intentGet(params: { id: string }): Promise<Intent | null>;

  /**
   * Dead-letters an open or claimed intent (`deadReason` `cancelled`).
   * @throws {NotFoundError} @throws {ConflictError} `invalid_state` when it is fulfilled or dead.
   */
  intentCancel(params: { id: string; now: number }): Promise<Intent>;

  /**
   * Brings a dead intent back to open with its attempts reset.
   * @throws {NotFoundError} @throws {ConflictError} `invalid_state` when it is not dead.
   */
  intentRetry(params: { id: string; now: number }): Promise<Intent>;

  /**
   * Deletes the intents (live and dead) of a namespace, or of all, created
   * at or before `now`; returns how many. With `limit`, deletes at most that
   * many from each table, so a large purge goes in short writes: call again
   * until it returns 0.
   */
  intentPurge(params: PurgeParams): Promise<number>;

  /** Lists dead intents, newest first. */
  deadList(params: DeadListParams): Promise<Intent[]>;

  /** Moves matching dead intents back to open with attempts reset; returns the intents. */
  deadRedrive(
    params: DeadFilter & { now: number; limit: number },
  ): Promise<Intent[]>;

  /**
   * Puts expired leases back to open after backoff (or dead when it was the
   * last attempt), and dead-letters intents past their expiry.
   */
  leaseReap(params: LeaseReapParams): Promise<LeaseReapResult>;

  /** Deletes what retention allows: old finished intents, nonces, idempotency keys, KV. */
  maintenanceRun(params: MaintenanceParams): Promise<MaintenanceResult>;

  /** Stores a value under a key private to `owner`. */
  kvSet(params: KvSetParams): Promise<void>;

  /** Reads a value, or null when absent or expired. */
  kvGet(
    params: { owner: string; key: string; now: number },
  ): Promise<{ value: JsonValue } | null>;

  /** Stores an issued key's hash. */
  apiKeyInsert(
    params: { hash: string; owner: string; now: number },
  ): Promise<ApiKey>;

  /** Reads a key by hash, revoked or not, or null. */
  apiKeyGet(params: { hash: string }): Promise<ApiKey | null>;

  /** Revokes a key; returns false when there was no live key with that hash. */
  apiKeyRevoke(params: { hash: string; now: number }): Promise<boolean>;

  /**
   * Records a nonce of a signed request.
   * @returns false when the key already used it before `expiresAt` of the earlier use.
   */
  nonceUse(
    params: { key: string; nonce: string; expiresAt: number; now: number },
  ): Promise<boolean>;

  /** Counts intents per state and per goal, for metrics and the dashboard. */
  statsGet(params: { now: number }): Promise<QueueStats>;

  /**
   * The store's own machinery, for `/metrics`: the SQLite WAL and its
   * checkpoint thread, PostgreSQL's connection pool. Cheap: no query.
   */
  metricsGet(): StoreMetric[];

  /** Stops claims of a goal until resumed. Idempotent. */
  goalPause(params: GoalParams & { now: number }): Promise<void>;

  /** Lets a paused goal be claimed again. Idempotent. */
  goalResume(params: GoalParams): Promise<void>;

  /**
   * Calls `fn` with each goal that another process sharing the database
   * (another server on one PostgreSQL queue) made claimable, so that this
   * process's long polls wake at once. Optional: a store only one process
   * writes has nothing to tell. Stops with the returned function, or at
   * {@linkcode Storage.close}.
   */
  watchGoals?(fn: (namespace: string, goal: string) => void): () => void;

  /** Finishes pending writes and closes the database. */
  close(): Promise<void>;
}

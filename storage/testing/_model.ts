// A small in-memory reference model of the Storage semantics, written from
// the docs of `storage/storage.ts`, `core/intent.ts`, `lease_rules.ts` and
// the Intent Protocol, for the model-based cases (`_model_cases.ts`). It
// keeps intents as plain objects and says, for each call, what a store must
// answer. Readability over speed: every call scans everything.
//
// Where the docs leave a choice open, the model takes the stores' choice
// and the comparison in `_model_cases.ts` ignores it; each place says so.

import {
  ConflictError,
  LeaseLostError,
  LimitError,
  NotFoundError,
} from "../../core/errors.ts";
import type { ClaimedIntent, Intent } from "../../core/intent.ts";
import { REDRIVE_TTL_MS } from "../lease_rules.ts";
import type {
  AckItem,
  AckResult,
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
  LeaseReapParams,
  LeaseReapResult,
  QueueStats,
} from "../storage.ts";

/** One intent as the model keeps it. */
interface Entry {
  /** The intent; its `claimToken` is what callers see. */
  intent: Intent;
  /** The token a lease operation must show; `failed:`/`released:` once ended. */
  token: string | null;
  /** When it died (dead only). */
  diedAt: number;
}

/** The claim order's key: priority descending, then runAt, attempts, createdAt. */
export function claimKey(i: Intent): number[] {
  return [-i.priority, i.runAt, i.claimAttempts, i.createdAt];
}

function compareKeys(a: number[], b: number[]): number {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] - b[k];
  return 0;
}

/** Backoff as `Intent.backoffBase` documents it, in ms. */
function backoff(base: number, attempts: number, jitter: number): number {
  return Math.trunc(
    (Math.min(base * 2 ** attempts, 3600) + jitter * base) * 1000,
  );
}

/** What an atomic batch puts back when an item fails. */
interface Saved {
  live: Map<string, Entry>;
  dead: Map<string, Entry>;
  keys: Map<string, { hash: string | null; id: string }>;
}

const goalKey = (ns: string, goal: string) => `${ns}\n${goal}`;

/** The reference model: the same calls as `Storage`, synchronous. */
export class StorageModel {
  #live = new Map<string, Entry>();
  #dead = new Map<string, Entry>();
  /** Idempotency keys: `publisher\nkey` → request hash and intent id. */
  #keys = new Map<string, { hash: string | null; id: string }>();
  #paused = new Set<string>();
  #tokens = 0;

  /** A copy, to try calls on. */
  clone(): StorageModel {
    const c = new StorageModel();
    c.#load(this.#save());
    c.#paused = new Set(this.#paused);
    c.#tokens = this.#tokens;
    return c;
  }

  /** The whole state as text: equal for equal states. */
  fingerprint(): string {
    const sorted = <T>(m: Map<string, T>) =>
      [...m].sort(([a], [b]) => a < b ? -1 : 1);
    return JSON.stringify([
      sorted(this.#live),
      sorted(this.#dead),
      sorted(this.#keys),
      [...this.#paused].sort(),
    ]);
  }

  /** Every intent, live and dead, as `intentGet` reads it. */
  intents(): Intent[] {
    return [...this.#live.values(), ...this.#dead.values()].map(view);
  }

  /** Inserts one intent: idempotency replay first, then quota, then id. */
  intentInsert(p: IntentInsertParams): IntentInsertResult {
    const key = `${p.publisher}\n${p.idempotencyKey}`;
    const seen = p.idempotencyKey === null ? undefined : this.#keys.get(key);
    if (seen) {
      if (seen.hash !== p.requestHash) {
        throw new ConflictError(
          "idempotency key reused",
          "idempotency_conflict",
        );
      }
      return { intent: this.intentGet({ id: seen.id })!, replayed: true };
    }
    if (p.quota !== null) {
      const mine = [...this.#live.values()].filter((e) =>
        e.intent.publisher === p.publisher &&
        (e.intent.state === "open" || e.intent.state === "claimed")
      );
      if (mine.length >= p.quota) throw new LimitError("quota reached");
    }
    if (this.#live.has(p.id) || this.#dead.has(p.id)) {
      throw new ConflictError("id taken");
    }
    // Spelled out, not `newIntent` from rows.ts: the model shares no code
    // with the stores it checks.
    const intent: Intent = {
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
    this.#live.set(p.id, { intent, token: null, diedAt: 0 });
    if (p.idempotencyKey !== null) {
      this.#keys.set(key, { hash: p.requestHash, id: p.id });
    }
    return { intent: view(this.#live.get(p.id)!), replayed: false };
  }

  /** Each item as `intentInsert`; atomic: all stored, or none. */
  intentInsertMany(p: IntentInsertManyParams): IntentInsertManyResult[] {
    const before = this.#save();
    const out: IntentInsertManyResult[] = [];
    for (const [i, item] of p.items.entries()) {
      try {
        out.push({ ok: true, ...this.intentInsert(item) });
      } catch (error) {
        if (!p.atomic) {
          out.push({ ok: false, error: error as Error });
          continue;
        }
        this.#load(before);
        return p.items.map((_, j) => ({
          ok: false,
          error: j === i ? error as Error : new ConflictError("batch failed"),
        }));
      }
    }
    return out;
  }

  /** The open intents `p` may claim now, in claim order. */
  claimable(p: IntentClaimParams): Intent[] {
    if (this.#paused.has(goalKey(p.namespace, p.goal))) return [];
    // The protocol also names "claimed with an expired lease" claimable;
    // storage.ts has the reaper put such leases back (after backoff)
    // first, and the stores claim open intents only: so does the model.
    return [...this.#live.values()].map((e) => e.intent).filter((i) =>
      i.state === "open" && i.namespace === p.namespace &&
      i.goal === p.goal && i.runAt <= p.now && i.expiresAt > p.now &&
      i.claimAttempts < i.maxAttempts &&
      (i.visibility === "public" || i.publisher === p.caller || p.master) &&
      (p.publisher === null || i.publisher === p.publisher) &&
      (i.targetWorker === null || i.targetWorker === p.workerId) &&
      (i.requiredCapability === null ||
        p.capabilities.includes(i.requiredCapability))
    ).sort((a, b) => compareKeys(claimKey(a), claimKey(b)));
  }

  /**
   * Claims up to `max` in claim order. The order among equal claim keys is
   * not fixed by the spec: given `pick` (a store's answer), the model takes
   * the same intents when they are a valid choice, and their tokens.
   */
  intentClaim(p: IntentClaimParams, pick?: ClaimedIntent[]): ClaimedIntent[] {
    const can = this.claimable(p);
    let chosen = can.slice(0, p.max);
    if (pick && validPick(pick, chosen, can)) {
      chosen = pick.map((c) => this.#live.get(c.id)!.intent);
    }
    return chosen.map((i) => {
      const token = pick?.find((c) => c.id === i.id)?.claimToken ??
        (++this.#tokens).toString(16).padStart(32, "0");
      Object.assign(i, {
        state: "claimed",
        claimAttempts: i.claimAttempts + 1,
        leaseEpoch: i.leaseEpoch + 1,
        claimedBy: p.caller,
        workerId: p.workerId,
        leaseExpiresAt: p.now + p.leaseMs,
        updatedAt: p.now,
      });
      this.#live.get(i.id)!.token = token;
      return {
        id: i.id,
        namespace: i.namespace,
        goal: i.goal,
        payload: i.payload,
        claimAttempts: i.claimAttempts,
        maxAttempts: i.maxAttempts,
        priority: i.priority,
        targetWorker: i.targetWorker,
        requiredCapability: i.requiredCapability,
        claimToken: token,
        leaseEpoch: i.leaseEpoch,
        leaseExpiresAt: i.leaseExpiresAt!,
      };
    });
  }

  /**
   * The live entry lease `p` may act on (states in `allow`), else throws:
   * NotFoundError for no such intent, LeaseLostError for anything else.
   * Without a token only the caller holding a live lease may act.
   */
  #leased(p: LeaseParams, allow: Intent["state"][]): Entry {
    const e = this.#live.get(p.id);
    if (!e) {
      if (this.#dead.has(p.id)) throw new LeaseLostError("dead");
      throw new NotFoundError("no such intent");
    }
    const i = e.intent;
    if (p.token === null) {
      if (
        i.state === "claimed" && i.claimedBy === p.caller &&
        i.leaseExpiresAt! > p.now
      ) return e;
      throw new LeaseLostError("no live lease");
    }
    // An ended lease's marker (`failed:…`) is never a token.
    if (e.token !== p.token || p.token.includes(":")) {
      throw new LeaseLostError("token does not match");
    }
    if (!allow.includes(i.state)) throw new LeaseLostError("not claimed");
    return e;
  }

  /**
   * Fulfils. Also accepted with the current token after the lease expired
   * while nobody re-claimed: reaped back to open, or (last attempt) reaped
   * dead (`lease_expired`). A replay with the fulfilling token returns the
   * stored intent unchanged.
   */
  intentFulfil(p: IntentFulfilParams): Intent {
    const d = this.#dead.get(p.id);
    const late = d !== undefined && p.token !== null &&
      d.token === p.token && d.intent.deadReason === "lease_expired";
    if (late) {
      this.#dead.delete(p.id);
      this.#live.set(p.id, d);
      d.intent.deadReason = null;
    }
    const e = late ? d : this.#leased(p, ["claimed", "open", "fulfilled"]);
    if (e.intent.state !== "fulfilled") {
      Object.assign(e.intent, {
        state: "fulfilled",
        result: p.result,
        resultType: p.resultType,
        completedAt: p.now,
        updatedAt: p.now,
        leaseExpiresAt: null,
      });
    }
    return view(e);
  }

  /**
   * The entry fail or release (`how`) may end, or, when the lease is lost
   * but this same call already ended it (token `how:token` stored), the
   * intent as it left it.
   */
  #ending(p: LeaseParams, how: string): Entry | { replay: Intent } {
    try {
      return this.#leased(p, ["claimed"]);
    } catch (err) {
      if (!(err instanceof LeaseLostError) || p.token === null) throw err;
      const e = this.#live.get(p.id) ?? this.#dead.get(p.id)!;
      if (e.token === `${how}:${p.token}`) return { replay: view(e) };
      throw err;
    }
  }

  /** Fails: open after backoff, or dead when it was the last attempt. */
  intentFail(p: IntentFailParams): Intent {
    const e = this.#ending(p, "failed");
    if ("replay" in e) return e.replay;
    const i = e.intent;
    i.lastError = p.error;
    e.token = `failed:${e.token}`;
    if (i.claimAttempts >= i.maxAttempts) {
      return this.#kill(e, p.now, "attempts_exhausted");
    }
    Object.assign(i, {
      state: "open",
      runAt: p.now + backoff(i.backoffBase, i.claimAttempts, p.jitter),
      updatedAt: p.now,
      claimedBy: null,
      leaseExpiresAt: null,
    });
    return view(e);
  }

  /** Renews a lease to `now + leaseMs`. */
  leaseExtend(p: LeaseExtendParams): Intent {
    const e = this.#leased(p, ["claimed"]);
    e.intent.leaseExpiresAt = p.now + p.leaseMs;
    e.intent.updatedAt = p.now;
    return view(e);
  }

  /** Gives a lease back: open, due now, the attempt returned. */
  intentRelease(p: LeaseParams): Intent {
    const e = this.#ending(p, "released");
    if ("replay" in e) return e.replay;
    e.token = `released:${e.token}`;
    Object.assign(e.intent, {
      state: "open",
      runAt: p.now,
      updatedAt: p.now,
      claimAttempts: Math.max(e.intent.claimAttempts - 1, 0),
      claimedBy: null,
      leaseExpiresAt: null,
    });
    return view(e);
  }

  /** Each item as `intentFulfil` or `intentFail`, in order, on its own. */
  intentAckMany(p: { items: AckItem[] }): AckResult[] {
    return p.items.map((item) => {
      try {
        const intent = item.kind === "fulfil"
          ? this.intentFulfil(item)
          : this.intentFail(item);
        return { ok: true, intent };
      } catch (error) {
        return { ok: false, error: error as Error };
      }
    });
  }

  /** One intent, live or dead, or null. */
  intentGet(p: { id: string }): Intent | null {
    const e = this.#live.get(p.id) ?? this.#dead.get(p.id);
    return e ? view(e) : null;
  }

  /** Dead-letters an open or claimed intent (`cancelled`). */
  intentCancel(p: { id: string; now: number }): Intent {
    const e = this.#live.get(p.id);
    if (!e) {
      if (this.#dead.has(p.id)) {
        throw new ConflictError("dead", "invalid_state");
      }
      throw new NotFoundError("no such intent");
    }
    if (e.intent.state === "fulfilled") {
      throw new ConflictError("fulfilled", "invalid_state");
    }
    return this.#kill(e, p.now, "cancelled");
  }

  /** Brings a dead intent back open, attempts reset, for another day. */
  intentRetry(p: { id: string; now: number }): Intent {
    const e = this.#dead.get(p.id);
    if (!e) {
      if (this.#live.has(p.id)) {
        throw new ConflictError("live", "invalid_state");
      }
      throw new NotFoundError("no such intent");
    }
    this.#dead.delete(p.id);
    e.token = null;
    Object.assign(e.intent, {
      state: "open",
      claimAttempts: 0,
      runAt: p.now,
      expiresAt: p.now + REDRIVE_TTL_MS,
      updatedAt: p.now,
      claimedBy: null,
      leaseExpiresAt: null,
      result: null,
      resultType: null,
      completedAt: null,
      deadReason: null,
    });
    this.#live.set(p.id, e);
    return view(e);
  }

  /** Dead intents by (died at, id) descending, filtered, paged. */
  deadList(p: DeadListParams): Intent[] {
    return [...this.#dead.values()].filter((e) =>
      (p.namespace === undefined || e.intent.namespace === p.namespace) &&
      (p.goal === undefined || e.intent.goal === p.goal) &&
      (p.ids === undefined || p.ids.includes(e.intent.id)) &&
      (p.before === undefined || e.diedAt < p.before ||
        (p.beforeId !== undefined && e.diedAt === p.before &&
          e.intent.id < p.beforeId))
    ).sort((a, b) =>
      b.diedAt - a.diedAt || (a.intent.id < b.intent.id ? 1 : -1)
    ).slice(0, p.limit).map(view);
  }

  /** Retries the first `limit` intents `deadList` would list. */
  deadRedrive(p: DeadFilter & { now: number; limit: number }): Intent[] {
    return this.deadList({ ...p, before: undefined }).map((d) =>
      this.intentRetry({ id: d.id, now: p.now })
    );
  }

  /**
   * The reap's three steps, in the order `LeaseReapParams` names them:
   * last attempts' expired leases die (`lease_expired`), open intents
   * past their expiry die (`expired`), other expired leases reopen after
   * backoff. The model takes no `limit` (the order within a step is that
   * of lease end, and ties are the spec's to leave open).
   */
  leaseReap(p: LeaseReapParams): LeaseReapResult {
    if (p.limit !== undefined) throw new RangeError("model: no reap limit");
    const live = () => [...this.#live.values()];
    const lapsed = (e: Entry) =>
      e.intent.state === "claimed" && e.intent.leaseExpiresAt! <= p.now;
    let dead = 0;
    for (const e of live().filter(lapsed)) {
      if (e.intent.claimAttempts < e.intent.maxAttempts) continue;
      // `Intent.lastError`: the dead letter keeps the worker's earlier
      // error if there was one, else `Lease expired`.
      e.intent.lastError ??= "Lease expired";
      this.#kill(e, p.now, "lease_expired");
      dead++;
    }
    for (const e of live()) {
      if (e.intent.state !== "open" || e.intent.expiresAt > p.now) continue;
      this.#kill(e, p.now, "expired");
      dead++;
    }
    let retried = 0;
    for (const e of live().filter(lapsed)) {
      const i = e.intent;
      Object.assign(i, {
        state: "open",
        runAt: p.now + backoff(i.backoffBase, i.claimAttempts, p.jitter),
        claimedBy: null,
        leaseExpiresAt: null,
        updatedAt: p.now,
        lastError: "Lease expired",
      });
      retried++;
    }
    return { retried, dead };
  }

  /** Counts per state and per goal. */
  statsGet(p: { now: number }): QueueStats {
    const states = { open: 0, claimed: 0, fulfilled: 0, dead: 0 };
    const goals = new Map<string, QueueStats["goals"][number]>();
    const goal = (ns: string, g: string) => {
      const k = goalKey(ns, g);
      if (!goals.has(k)) {
        goals.set(k, {
          namespace: ns,
          goal: g,
          open: 0,
          delayed: 0,
          claimed: 0,
          dead: 0,
          paused: this.#paused.has(k),
        });
      }
      return goals.get(k)!;
    };
    for (
      const { intent: i } of [...this.#live.values(), ...this.#dead.values()]
    ) {
      states[i.state]++;
      if (i.state === "fulfilled") continue;
      const g = goal(i.namespace, i.goal);
      g[i.state]++;
      if (i.state === "open" && i.runAt > p.now) g.delayed++;
    }
    return { states, goals: [...goals.values()] };
  }

  /** Stops claims of a goal. */
  goalPause(p: GoalParams & { now: number }): void {
    this.#paused.add(goalKey(p.namespace, p.goal));
  }

  /** Lets a paused goal be claimed again. */
  goalResume(p: GoalParams): void {
    this.#paused.delete(goalKey(p.namespace, p.goal));
  }

  /** Moves a live entry to the dead letters. */
  #kill(e: Entry, now: number, reason: string): Intent {
    this.#live.delete(e.intent.id);
    Object.assign(e.intent, {
      state: "dead",
      updatedAt: now,
      claimedBy: null,
      leaseExpiresAt: null,
      deadReason: reason,
    });
    e.diedAt = now;
    this.#dead.set(e.intent.id, e);
    return view(e);
  }

  #save(): Saved {
    return structuredClone({
      live: this.#live,
      dead: this.#dead,
      keys: this.#keys,
    });
  }

  #load(saved: Saved): void {
    ({ live: this.#live, dead: this.#dead, keys: this.#keys } = saved);
  }
}

/** An entry as callers see it: a copy, the token shown only while live. */
function view(e: Entry): Intent {
  const token = e.token === null || e.token.includes(":") ? null : e.token;
  return structuredClone({ ...e.intent, claimToken: token });
}

/**
 * Whether a store's claim answer is one the spec allows: as many as the
 * model would take, distinct, each claimable, with the same claim-key
 * sequence as the model's choice.
 */
function validPick(
  pick: ClaimedIntent[],
  chosen: Intent[],
  can: Intent[],
): boolean {
  if (pick.length !== chosen.length) return false;
  if (new Set(pick.map((c) => c.id)).size !== pick.length) return false;
  return pick.every((c, k) => {
    const i = can.find((x) => x.id === c.id);
    return i !== undefined &&
      compareKeys(claimKey(i), claimKey(chosen[k])) === 0;
  });
}

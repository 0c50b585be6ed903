// The operation maker of the model-based cases: from a seed, a sequence of
// storage calls over small vocabularies, so that calls collide, with lease
// calls that show current, stale, ended, missing and made-up tokens, and a
// clock that jumps across lease ends, run_at and expiry.

import type { ClaimedIntent, JsonValue } from "../../core/intent.ts";
import type {
  AckItem,
  DeadFilter,
  DeadListParams,
  GoalParams,
  IntentClaimParams,
  IntentFailParams,
  IntentFulfilParams,
  IntentInsertManyParams,
  IntentInsertParams,
  LeaseExtendParams,
  LeaseParams,
  LeaseReapParams,
} from "../storage.ts";
import type { StorageModel } from "./_model.ts";
import { DAY } from "./_fixtures.ts";

/** One storage call: the method's name and its params. */
export type Op =
  | { call: "intentInsert"; p: IntentInsertParams }
  | { call: "intentInsertMany"; p: IntentInsertManyParams }
  | { call: "intentClaim"; p: IntentClaimParams }
  | { call: "intentFulfil"; p: IntentFulfilParams }
  | { call: "intentFail"; p: IntentFailParams }
  | { call: "leaseExtend"; p: LeaseExtendParams }
  | { call: "intentRelease"; p: LeaseParams }
  | { call: "intentAckMany"; p: { items: AckItem[] } }
  | { call: "leaseReap"; p: LeaseReapParams }
  | { call: "intentGet"; p: { id: string } }
  | { call: "intentCancel" | "intentRetry"; p: { id: string; now: number } }
  | { call: "deadList"; p: DeadListParams }
  | { call: "deadRedrive"; p: DeadFilter & { now: number; limit: number } }
  | { call: "goalPause"; p: GoalParams & { now: number } }
  | { call: "goalResume"; p: GoalParams }
  | { call: "statsGet"; p: { now: number } };

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMESPACES = ["ns", "ns", "ns", "ns2"];
const GOALS = ["g1", "g2", "g3"];
/** API key hashes: publishers and callers alike. */
const KEYS = ["k1", "k2", "k3"];
const WORKERS = [null, null, "w1", "w2"];
const CAPS = ["gpu", "cpu"];

/** Calls never sent at once with other calls; see `OpMaker.group`. */
const UNMIXED: Op["call"][] = [
  "intentClaim",
  "intentInsertMany",
  "intentAckMany",
  "leaseReap",
  "deadRedrive",
  "statsGet",
];

/** A lease seen in a claim answer: what lease calls pick from. */
interface Seen {
  id: string;
  token: string;
  caller: string;
}

/** Makes the operations of one seeded sequence. */
export class OpMaker {
  /** The clock: each operation's `now`, never going back. */
  now: number;
  #rand: () => number;
  #seed: number;
  #ids = 0;
  #leases: Seen[] = [];
  /**
   * Each publisher's quota; a publish gives it or, now and then, none (a
   * master key's publish), so that both count against a later quota.
   */
  #quotas: Map<string, number | null>;

  /**
   * @param seed The sequence's seed. @param start The first `now`.
   */
  constructor(seed: number, start: number) {
    this.#seed = seed;
    this.#rand = mulberry32(seed);
    this.now = start;
    this.#quotas = new Map(
      KEYS.map((k) => [k, this.#chance(.5) ? this.#int(3, 10) : null]),
    );
  }

  /** Records the leases a claim handed out, for later lease calls. */
  claimed(claims: ClaimedIntent[], caller: string): void {
    for (const c of claims) {
      this.#leases.push({ id: c.id, token: c.claimToken, caller });
    }
    if (this.#leases.length > 30) this.#leases.splice(0, 10);
  }

  /**
   * The next step, after moving the clock on: mostly one call, now and
   * then two or three sent at once: the same claim (sharing one claim
   * statement), or other calls. A store must answer those as if made one
   * after the other, each on its own (as the insert and lease cases say).
   * Claims go at once only with the same claim, and batches, reaps,
   * redrives and stats never go with others, as the spec says nothing of
   * how they mix: PostgreSQL's claims, reaps and redrives skip
   * rows a concurrent call has locked (`FOR UPDATE SKIP LOCKED`), so a
   * claim may miss an intent that a failing fail held; its stats read in
   * several statements; and a batch's items each see what committed
   * before them (READ COMMITTED), so a fulfil may free a quota slot
   * between two items of one batch.
   */
  group(m: StorageModel): Op[] {
    this.#tick();
    if (this.#chance(.88)) return [this.#next(m)];
    const n = this.#int(2, 3);
    if (this.#chance(.4)) {
      const p = this.#claim(m);
      return Array.from({ length: n }, () => ({
        call: "intentClaim",
        p: { ...p, max: this.#int(1, 3) },
      }));
    }
    return Array.from({ length: n }, () => {
      for (;;) {
        const op = this.#next(m);
        if (!UNMIXED.includes(op.call)) return op;
      }
    });
  }

  /** One call at the current time. */
  #next(m: StorageModel): Op {
    const now = this.now;
    const r = this.#rand() * 100;
    if (r < 18) return { call: "intentInsert", p: this.#publish(m) };
    if (r < 22) {
      const items = Array.from(
        { length: this.#int(2, 4) },
        () => this.#publish(m),
      );
      return {
        call: "intentInsertMany",
        p: { items, atomic: this.#chance(.5) },
      };
    }
    if (r < 44) return { call: "intentClaim", p: this.#claim(m) };
    if (r < 53) return { call: "intentFulfil", p: this.#fulfil() };
    if (r < 62) return { call: "intentFail", p: this.#fail() };
    if (r < 66) return { call: "intentRelease", p: this.#lease() };
    if (r < 70) {
      const leaseMs = this.#pick([5_000, 30_000, 60_000]);
      return { call: "leaseExtend", p: { ...this.#lease(), leaseMs } };
    }
    if (r < 74) {
      const items = Array.from(
        { length: this.#int(1, 3) },
        (): AckItem =>
          this.#chance(.6)
            ? { kind: "fulfil", ...this.#fulfil() }
            : { kind: "fail", ...this.#fail() },
      );
      return { call: "intentAckMany", p: { items } };
    }
    if (r < 82) {
      return { call: "leaseReap", p: { now, jitter: this.#jitter() } };
    }
    if (r < 86) return { call: "intentGet", p: { id: this.#someId(m) } };
    if (r < 88) {
      return { call: "intentCancel", p: { id: this.#someId(m), now } };
    }
    if (r < 90) return { call: "intentRetry", p: { id: this.#someId(m), now } };
    if (r < 92) {
      return {
        call: "deadRedrive",
        p: { ...this.#deadFilter(), limit: this.#int(1, 3), now },
      };
    }
    if (r < 94) {
      const before = this.#chance(.3) ? now - this.#int(0, 60_000) : undefined;
      return {
        call: "deadList",
        p: { ...this.#deadFilter(), limit: this.#int(1, 4), before },
      };
    }
    const goal = { namespace: this.#pick(NAMESPACES), goal: this.#pick(GOALS) };
    if (r < 95.5) return { call: "goalPause", p: { ...goal, now } };
    if (r < 98) return { call: "goalResume", p: goal };
    return { call: "statsGet", p: { now } };
  }

  #tick(): void {
    const r = this.#rand();
    this.now += r < .5
      ? this.#int(0, 300)
      : r < .8
      ? this.#int(500, 5_000)
      : r < .95
      ? this.#int(5_000, 40_000)
      : this.#int(60_000, 300_000);
  }

  #publish(m: StorageModel): IntentInsertParams {
    const now = this.now;
    const known = m.intents();
    // Now and then an id already taken, with no idempotency key.
    const taken = known.length > 0 && this.#chance(.03);
    const key = taken || this.#chance(.75) ? null : this.#pick(["i1", "i2"]);
    const publisher = this.#pick(KEYS);
    return {
      id: taken ? this.#pick(known).id : this.#newId(),
      namespace: this.#pick(NAMESPACES),
      goal: this.#pick(GOALS),
      payload: { n: this.#ids, tag: this.#pick(["a", "b", "ü"]) },
      priority: this.#pick([0, 100, 100, 100, 500]),
      visibility: this.#chance(.3) ? "private" : "public",
      targetWorker: this.#chance(.15) ? this.#pick(["w1", "w2"]) : null,
      requiredCapability: this.#chance(.15) ? this.#pick(CAPS) : null,
      maxAttempts: this.#int(1, 4),
      backoffBase: this.#int(1, 3),
      publisher,
      quota: taken || this.#chance(.3) ? null : this.#quotas.get(publisher)!,
      idempotencyKey: key,
      requestHash: key === null ? null : this.#pick(["h1", "h2"]),
      runAt: this.#chance(.3) ? now + this.#int(1, 30) * 1000 : now,
      expiresAt: this.#chance(.2) ? now + this.#int(20, 200) * 1000 : now + DAY,
      now,
    };
  }

  #claim(m: StorageModel): IntentClaimParams {
    // Mostly where open intents are, so that claims find something.
    const open = m.intents().filter((i) => i.state === "open");
    const at = open.length > 0 && this.#chance(.7) ? this.#pick(open) : {
      namespace: this.#pick(NAMESPACES),
      goal: this.#pick(GOALS),
    };
    return {
      namespace: at.namespace,
      goal: at.goal,
      caller: this.#pick(KEYS),
      master: this.#chance(.15),
      publisher: this.#chance(.15) ? this.#pick(KEYS) : null,
      workerId: this.#pick(WORKERS),
      capabilities: CAPS.filter(() => this.#chance(.4)),
      leaseMs: this.#pick([5_000, 15_000, 30_000, 60_000]),
      max: this.#int(1, 4),
      now: this.now,
    };
  }

  /** A lease to act on: mostly a recent claim's, as it was handed out. */
  #lease(): LeaseParams {
    const recent = this.#leases.slice(-12);
    const l = recent.length > 0 ? this.#pick(recent) : {
      id: this.#newId(),
      token: "a".repeat(32),
      caller: "k1",
    };
    const r = this.#rand();
    const token = r < .75
      ? l.token
      : r < .85
      ? null
      : r < .92
      ? "f".repeat(32)
      : `${this.#pick(["failed", "released"])}:${l.token}`;
    return {
      id: this.#chance(.03) ? this.#newId() : l.id,
      token,
      caller: this.#chance(.9) ? l.caller : this.#pick(KEYS),
      now: this.now,
    };
  }

  #fulfil(): IntentFulfilParams {
    const result: JsonValue = this.#pick([null, { ok: true }, "done", 42]);
    const text = typeof result === "string" && this.#chance(.5);
    return { ...this.#lease(), result, resultType: text ? "text" : "json" };
  }

  #fail(): IntentFailParams {
    const error = this.#pick(["boom", "oops"]);
    return { ...this.#lease(), error, jitter: this.#jitter() };
  }

  #deadFilter(): DeadFilter {
    const f: DeadFilter = {};
    if (this.#chance(.5)) f.namespace = this.#pick(NAMESPACES);
    if (this.#chance(.5)) f.goal = this.#pick(GOALS);
    return f;
  }

  /** A known id (any state), or now and then an unknown one. */
  #someId(m: StorageModel): string {
    const known = m.intents();
    if (known.length === 0 || this.#chance(.05)) return this.#newId();
    const dead = known.filter((i) => i.state === "dead");
    return this.#pick(dead.length > 0 && this.#chance(.5) ? dead : known).id;
  }

  /** Jitter in [0, 1): eighths mostly, any value at times. */
  #jitter(): number {
    return this.#chance(.8) ? this.#int(0, 7) / 8 : this.#rand();
  }

  /** 32 lowercase hex, from the seed and a counter. */
  #newId(): string {
    this.#ids++;
    return this.#seed.toString(16).padStart(8, "0") +
      this.#ids.toString(16).padStart(24, "0");
  }

  #int(lo: number, hi: number): number {
    return lo + Math.floor(this.#rand() * (hi - lo + 1));
  }

  #chance(p: number): boolean {
    return this.#rand() < p;
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#rand() * xs.length)];
  }
}

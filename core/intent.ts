/**
 * The intent (job) model shared by the server, the storage layer and the SDK.
 *
 * @module
 */

/**
 * The states an intent moves through, declared once.
 *
 * - `open`: waiting to be claimed. Publish, a fail with attempts left, an expired
 *   lease with attempts left, a release and a redrive move an intent here.
 * - `claimed`: leased to one worker until `leaseExpiresAt`; a claim moves it here.
 * - `fulfilled`: done; a fulfil with the current claim token moves it here.
 * - `dead`: in the dead-letter table; attempts used up, expired, or cancelled.
 */
export const INTENT_STATES = ["open", "claimed", "fulfilled", "dead"] as const;

/** One of {@linkcode INTENT_STATES}. */
export type IntentState = typeof INTENT_STATES[number];

/** Who may claim a private intent: only its publisher's key; a public one, any key. */
export const VISIBILITIES = ["private", "public"] as const;

/** One of {@linkcode VISIBILITIES}. */
export type Visibility = typeof VISIBILITIES[number];

/** How a result is stored and returned. */
export const RESULT_TYPES = ["json", "text"] as const;

/** One of {@linkcode RESULT_TYPES}. */
export type ResultType = typeof RESULT_TYPES[number];

/** Any JSON value. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * A value sent as JSON: what {@linkcode JsonValue} describes, or any object.
 * Payloads and results typed with an `interface` have no index signature,
 * so TypeScript does not take them as a `JsonValue`; this type does. The SDK
 * encodes it with `JSON.stringify` and refuses, with code `invalid_json` and
 * nothing sent, what cannot be encoded (a BigInt, a cycle) and what would
 * be lost on the way (a function, a symbol, a `Map`, `Set` or `Promise`).
 *
 * @example
 * ```ts
 * import type { JsonInput } from "./intent.ts";
 *
 * interface Thumb { src: string; width: number }
 * const payload: JsonInput = { src: "a.png", width: 320 } as Thumb;
 * console.log(JSON.stringify(payload)); // {"src":"a.png","width":320}
 * ```
 */
export type JsonInput = null | boolean | number | string | object;

/**
 * An intent as storage returns it. Times are unix milliseconds.
 */
export interface Intent {
  /** 32 lowercase hex characters. */
  id: string;
  /** The queue space it lives in, such as `default`. */
  namespace: string;
  /** The kind of work, chosen by the publisher; workers claim by goal. */
  goal: string;
  /** The publisher's input for the worker. */
  payload: JsonValue;
  /** Where it is in its life; see {@linkcode INTENT_STATES}. */
  state: IntentState;
  /** Higher is claimed first; 0 to 1000. */
  priority: number;
  /** Who may claim it; see {@linkcode VISIBILITIES}. */
  visibility: Visibility;
  /** Only a claimer with this worker id may claim it. */
  targetWorker: string | null;
  /** Only a claimer listing this capability may claim it. */
  requiredCapability: string | null;
  /** Hash of the publisher's API key (see `server/auth`). */
  publisher: string;
  /** How many times it was claimed. */
  claimAttempts: number;
  /** Claims allowed before a failure or expired lease dead-letters it; 1 to 20. */
  maxAttempts: number;
  /** Seconds; a failure waits `backoffBase × 2^attempts` plus jitter. */
  backoffBase: number;
  /** Not claimable before this time. */
  runAt: number;
  /** Never claimable after this time; it goes dead instead. */
  expiresAt: number;
  /** When it was published. */
  createdAt: number;
  /** When it last changed. */
  updatedAt: number;
  /** Hash of the key holding the current lease, if claimed. */
  claimedBy: string | null;
  /** Worker id given by the current (or last) claimer. */
  workerId: string | null;
  /** Current claim token; rotates on every claim. */
  claimToken: string | null;
  /** Fencing token: increments on every claim. */
  leaseEpoch: number;
  /** When the current lease ends, if claimed. */
  leaseExpiresAt: number | null;
  /**
   * The error of the last failure, if any: a worker's `fail` message, or
   * `Lease expired` when a lease ran out and the intent went back to open.
   * When the last attempt's lease runs out, the dead letter keeps the
   * worker's earlier error if there was one (it says more than the expiry,
   * which `deadReason` `lease_expired` records), else `Lease expired`.
   */
  lastError: string | null;
  /** What the worker returned on fulfil, if fulfilled. */
  result: JsonValue | null;
  /** How `result` is stored, if fulfilled. */
  resultType: ResultType | null;
  /** When it was fulfilled, if it was. */
  completedAt: number | null;
  /**
   * Why it is dead: `attempts_exhausted` (failed on its last attempt),
   * `lease_expired` (its last attempt's lease ran out), `expired` (not
   * claimed before its expiry) or `cancelled`.
   */
  deadReason: string | null;
}

/** What a successful claim hands to a worker. */
export interface ClaimedIntent {
  /** 32 lowercase hex characters. */
  id: string;
  /** The queue space it lives in. */
  namespace: string;
  /** The kind of work. */
  goal: string;
  /** The publisher's input for the worker. */
  payload: JsonValue;
  /** How many times it was claimed, this claim included. */
  claimAttempts: number;
  /** Claims allowed before a failure or expired lease dead-letters it. */
  maxAttempts: number;
  /** Higher is claimed first; 0 to 1000. */
  priority: number;
  /** Only a claimer with this worker id may claim it. */
  targetWorker: string | null;
  /** Only a claimer listing this capability may claim it. */
  requiredCapability: string | null;
  /** The token proving this lease; fulfil, fail, extend and release send it. */
  claimToken: string;
  /** Fencing token: increments on every claim. */
  leaseEpoch: number;
  /** When this lease ends, unix milliseconds. */
  leaseExpiresAt: number;
}

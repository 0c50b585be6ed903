/**
 * The option and result types of the SDK. Fields are camelCase; the client
 * converts them to and from the protocol's snake_case.
 *
 * @example
 * ```ts
 * import type { PublishOptions } from "./types.ts";
 *
 * const opts: PublishOptions = { priority: 500, maxAttempts: 5 };
 * console.log(opts.priority); // 500
 * ```
 *
 * @module
 */

import type { IntentBusError } from "../core/errors.ts";
import type {
  JsonInput,
  JsonValue,
  ResultType,
  Visibility,
} from "../core/intent.ts";

/** How an {@linkcode IntentClient} reaches its server. */
export interface ClientOptions {
  /** The server's base URL, such as `http://127.0.0.1:8080`. Required. */
  url: string;
  /** The API key; defaults to the `INTENT_API_KEY` environment variable. */
  apiKey?: string;
  /** Admin credential for the `admin*` methods; defaults to `INTENT_ADMIN_TOKEN`. */
  adminToken?: string;
  /** Sign every request with HMAC-SHA256 (the protocol's strict auth). */
  sign?: boolean;
  /** Milliseconds per attempt, before any long-poll wait; default 30,000. */
  timeoutMs?: number;
  /** Retries after the first attempt on network errors, 429 and 503; default 3. */
  retries?: number;
  /** Ceiling of the first retry's delay in milliseconds; default 200. */
  retryBaseMs?: number;
  /** Largest retry delay in milliseconds; default 10,000. */
  retryMaxMs?: number;
  /** The fetch to use; defaults to the global one. */
  fetch?: typeof fetch;
  /** Sent as `X-Worker-ID`; intents targeted at this worker need it. */
  workerId?: string;
  /** Sent as `X-Worker-Capabilities`. */
  capabilities?: string[];
  /** Namespace used when a call names none; default `default`. */
  namespace?: string;
}

/** Options every call accepts. */
export interface CallOptions {
  /** Cancels the call, including retry waits. */
  signal?: AbortSignal;
  /** Overrides the client's per-attempt timeout. */
  timeoutMs?: number;
}

/** The optional fields of a published intent. */
export interface IntentFields {
  /** Namespace; the client's namespace by default. */
  namespace?: string;
  /** 0 to 1000, default 100; higher is claimed first. */
  priority?: number;
  /** Seconds before the intent may be claimed. */
  delay?: number;
  /** 1 to 20, default 3. */
  maxAttempts?: number;
  /** Seconds; a failure waits `backoffBase × 2^attempts` plus jitter. */
  backoffBase?: number;
  /** `private` (default: only this key's workers) or `public`. */
  visibility?: Visibility;
  /** Only a worker with this worker id may claim it. */
  targetWorker?: string;
  /** Only a worker listing this capability may claim it. */
  requiredCapability?: string;
  /** Reused on every retry; a random one is made when absent. */
  idempotencyKey?: string;
}

/** Options of {@linkcode IntentClient.publish}. */
export interface PublishOptions extends IntentFields, CallOptions {}

/** One item of {@linkcode IntentClient.publishMany}. */
export interface PublishItem extends IntentFields {
  /** The goal (queue) name. */
  goal: string;
  /** Any JSON value, at most 7 KiB compact. */
  payload: JsonInput;
}

/** What a publish answers. */
export interface Published {
  /** 32 lowercase hex characters. */
  id: string;
  /** `published`. */
  status: string;
  /** Where it was published. */
  namespace: string;
}

/** Per-item outcome of {@linkcode IntentClient.publishMany}. */
export type PublishResult =
  | { ok: true; id: string; status: string }
  | { ok: false; error: IntentBusError };

/** Options of the claim methods. */
export interface ClaimOptions extends CallOptions {
  /** Namespace; the client's namespace by default. */
  namespace?: string;
  /** Only intents of this publisher (master key only). */
  publisher?: string;
  /** Long-poll up to this many seconds (≤ 30) when the server supports it. */
  wait?: number;
  /** Lease length in seconds (10 to 3600) when the server supports it. */
  lease?: number;
}

/** An intent this client holds a lease on. */
export interface LeasedIntent {
  /** 32 lowercase hex characters. */
  id: string;
  /** Its namespace. */
  namespace: string;
  /** Its goal. */
  goal: string;
  /** What the publisher sent. */
  payload: JsonValue;
  /** Present it to fulfil, fail, extend or release. */
  claimToken: string;
  /** How many times it was claimed, this claim included. */
  claimAttempts: number;
  /** 0 to 1000; higher is claimed first. */
  priority: number;
  /** The worker id it was targeted at, if any. */
  targetWorker: string | null;
  /** The capability it required, if any. */
  requiredCapability: string | null;
  /** The lease length the server granted, in seconds. */
  leaseSeconds: number;
  /** The claim answer as received. */
  raw: Record<string, unknown>;
}

/** What one claim request gave: intents, and the server's idle hint. */
export interface ClaimBatch {
  /** The intents claimed; empty when none were claimable. */
  intents: LeasedIntent[];
  /** Seconds from `Retry-After` on an empty answer, if any. */
  retryAfter?: number;
}

/** One acknowledgement for {@linkcode IntentClient.ack}. */
export type Ack =
  | {
    /** The intent id. */
    id: string;
    /** The token of the current claim. */
    claimToken: string;
    /** Fulfil it. */
    status: "fulfilled";
    /** The result, if any. */
    result?: JsonInput;
    /** `json` (default) or `text`. */
    resultType?: ResultType;
  }
  | {
    /** The intent id. */
    id: string;
    /** The token of the current claim. */
    claimToken: string;
    /** Fail it; it is retried while attempts last. */
    status: "failed";
    /** Why, at most 500 characters. */
    error: string;
  };

/** Per-item outcome of {@linkcode IntentClient.ack}. */
export type AckResult =
  | { ok: true; id: string }
  | { ok: false; id: string; error: IntentBusError };

/** What `/status` and `/result` answer; other fields pass through. */
export interface IntentStatus {
  /** The intent id. */
  id: string;
  /** `open`, `claimed`, `fulfilled` or `dead`. */
  status: string;
  /** The result, from `/result` once fulfilled. */
  result?: JsonValue;
  /** How `result` was stored. */
  result_type?: ResultType;
  /** Other fields (`claim_attempts`, `last_error`, …) as the server sends them. */
  [field: string]: unknown;
}

/** What `/health` answers. */
export interface Health {
  /** True when the server is up. */
  ok: boolean;
  /** The server's version. */
  version?: string;
  /** Protocol extensions, such as `longpoll` and `batch_claim`. */
  features?: string[];
  /** Other fields as the server sends them. */
  [field: string]: unknown;
}

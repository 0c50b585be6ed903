/**
 * Limits and defaults of the Intent Protocol, declared once.
 *
 * @module
 */

/** Field limits and defaults the server enforces. */
export const LIMITS = {
  /** Goal length after trimming. */
  goalMax: 256,
  /** Compact JSON size of a payload or result, in bytes. */
  payloadBytes: 7 * 1024,
  /** Nesting depth of a payload. */
  payloadDepth: 10,
  priorityMin: 0,
  priorityMax: 1000,
  priorityDefault: 100,
  maxAttemptsMin: 1,
  maxAttemptsMax: 20,
  maxAttemptsDefault: 3,
  backoffBaseMin: 1,
  backoffBaseMax: 3600,
  backoffBaseDefault: 5,
  /** Maximum `delay` in seconds (30 days). */
  delayMax: 30 * 24 * 3600,
  /** An intent stays claimable this long after it becomes due. */
  ttlSeconds: 24 * 3600,
  leaseMin: 10,
  leaseMax: 3600,
  leaseDefault: 60,
  errorTextMax: 500,
  kvTtlMin: 1,
  kvTtlMax: 86400,
  kvTtlDefault: 600,
  kvKeyMax: 256,
  /** Longest idempotency key, the header's or a batch item's. */
  idempotencyKeyMax: 256,
  /** Open plus claimed intents one issued key may have. */
  openQuota: 2000,
  /** Requests per minute for an issued key. */
  rateLimitPerMinute: 60,
  /** Skew allowed for signed requests, in seconds. */
  signatureSkew: 300,
  /** Largest request body, in bytes. */
  bodyBytes: 1024 * 1024,
  /** Most intents in one batch publish. */
  batchPublishMax: 1000,
  /** Most intents in one batch claim. */
  batchClaimMax: 100,
  /** Longest long-poll, in seconds. */
  waitMax: 30,
} as const;

/** Namespace names: `[A-Za-z0-9_.-]{1,64}`. */
export const NAMESPACE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Worker ids, target workers and capabilities: `[A-Za-z0-9_.:-]{1,64}`. */
export const ROUTING_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Intent ids: 32 lowercase hex characters. */
export const ID_PATTERN = /^[0-9a-f]{32}$/;

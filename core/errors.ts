/**
 * The few named errors that callers catch. Each carries a stable `code` from
 * the Intent Protocol; only `server/errors.ts` maps them to HTTP statuses, and
 * the SDK turns error responses back into them.
 *
 * @example Catching a lost lease
 * ```ts
 * import { IntentBusError, LeaseLostError } from "./errors.ts";
 *
 * const err: unknown = new LeaseLostError("Claim token does not match: intent was re-claimed");
 * if (err instanceof IntentBusError) console.log(err.code); // "lease_lost"
 * ```
 *
 * @module
 */

/** Base class of every Intent Bus error; `code` is stable and snake_case. */
export class IntentBusError extends Error {
  /** The protocol's error code, such as `not_found`. */
  readonly code: string;
  /** Extra detail for the error body, if any. */
  readonly details?: Record<string, unknown>;

  /**
   * Creates an error with a protocol code and a message.
   *
   * @param code The protocol's error code.
   * @param message A sentence-case message; detail after a colon.
   * @param details Extra fields to include in the error body.
   */
  constructor(
    code: string,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Codes a {@linkcode ValidationError} may carry. */
export type ValidationCode =
  | "invalid_request"
  | "invalid_payload"
  | "payload_too_large"
  | "invalid_json";

/** The request is malformed or a field is out of range. Nothing was changed. */
export class ValidationError extends IntentBusError {
  /**
   * Creates a validation error.
   *
   * @param message What is wrong, naming the field.
   * @param code `invalid_request` unless a more precise code applies.
   */
  constructor(message: string, code: ValidationCode = "invalid_request") {
    super(code, message);
  }
}

/** The intent, key or value does not exist, or the caller may not see it. */
export class NotFoundError extends IntentBusError {
  /**
   * Creates a `not_found` error.
   *
   * @param message What was not found.
   */
  constructor(message: string) {
    super("not_found", message);
  }
}

/**
 * The caller no longer holds the lease: the token is stale or the intent is no
 * longer claimed by it. Clients stop working on the intent.
 */
export class LeaseLostError extends IntentBusError {
  /**
   * Creates a `lease_lost` error.
   *
   * @param message Why the lease is lost.
   */
  constructor(message: string) {
    super("lease_lost", message);
  }
}

/** Codes a {@linkcode ConflictError} may carry. */
export type ConflictCode =
  | "conflict"
  | "idempotency_conflict"
  | "invalid_state";

/** The request conflicts with the current state, or reuses an idempotency key. */
export class ConflictError extends IntentBusError {
  /**
   * Creates a conflict error.
   *
   * @param message What conflicts.
   * @param code `conflict`, `invalid_state` or `idempotency_conflict`.
   */
  constructor(message: string, code: ConflictCode = "conflict") {
    super(code, message);
  }
}

/** A quota was reached, such as the open-intent cap of a key. */
export class LimitError extends IntentBusError {
  /**
   * Creates a `limit_exceeded` error.
   *
   * @param message Which limit, and its value.
   */
  constructor(message: string) {
    super("limit_exceeded", message);
  }
}

/** Too many requests from one key; retry after `retryAfter` seconds. */
export class RateLimitedError extends IntentBusError {
  /** Seconds until a retry may succeed. */
  readonly retryAfter: number;

  /**
   * Creates a `rate_limited` error.
   *
   * @param message The limit that was hit.
   * @param retryAfter Seconds until a retry may succeed.
   */
  constructor(message: string, retryAfter: number) {
    super("rate_limited", message);
    this.retryAfter = retryAfter;
  }
}

/** The database is locked by another writer; retry after `retryAfter` seconds. */
export class BusyError extends IntentBusError {
  /** Seconds until a retry may succeed. */
  readonly retryAfter: number;

  /**
   * Creates a `database_busy` error.
   *
   * @param message What was busy.
   * @param retryAfter Seconds until a retry may succeed.
   */
  constructor(message: string, retryAfter = 1) {
    super("database_busy", message);
    this.retryAfter = retryAfter;
  }
}

/**
 * The database has no room left (a full disk, or SQLite's page limit);
 * nothing of the call was written. Free space, then retry.
 */
export class StorageFullError extends IntentBusError {
  /** Seconds until a retry is worth trying. */
  readonly retryAfter: number;

  /**
   * Creates a `storage_full` error.
   *
   * @param message What ran out of room.
   * @param retryAfter Seconds until a retry is worth trying.
   */
  constructor(message: string, retryAfter = 60) {
    super("storage_full", message);
    this.retryAfter = retryAfter;
  }
}

/** Codes an {@linkcode AuthError} may carry. */
export type AuthCode = "unauthorized" | "invalid_signature" | "forbidden";

/**
 * The caller is not who it must be: no or unknown key (`unauthorized`), a bad
 * signature (`invalid_signature`), or a known key without the right (`forbidden`).
 */
export class AuthError extends IntentBusError {
  /**
   * Creates an authentication or authorisation error.
   *
   * @param message Why the request was refused.
   * @param code `unauthorized`, `invalid_signature` or `forbidden`.
   */
  constructor(message: string, code: AuthCode = "unauthorized") {
    super(code, message);
  }
}

/**
 * The one place that turns errors into HTTP responses. Every error body is
 * `{"error":{"code","message"}}`; the Python SDK 2.x crashes on anything else.
 *
 * | error | status |
 * |---|---|
 * | `ValidationError` | 400 (`payload_too_large`: 413) |
 * | `AuthError` | `unauthorized` 401, `invalid_signature` and `forbidden` 403 |
 * | `NotFoundError`, `LeaseLostError` | 404 (clients read 404 on fulfil, fail, extend as "lease lost") |
 * | `ConflictError` | 409 |
 * | `LimitError`, `RateLimitedError` | 429 (the latter with `Retry-After`) |
 * | `BusyError`, SQLite `SQLITE_BUSY`/`SQLITE_LOCKED` | 503 `database_busy` with `Retry-After` |
 * | `StorageFullError` | 507 `storage_full` with `Retry-After` (logged) |
 * | {@linkcode HttpError} | its own status |
 * | anything else | 500 `internal_error`, detail only in the log |
 *
 * @example
 * ```ts
 * import { errorResponse } from "./errors.ts";
 * import { NotFoundError } from "../core/errors.ts";
 *
 * const res = errorResponse(new NotFoundError("Intent not found"));
 * console.log(res.status); // 404
 * ```
 *
 * @module
 */

import {
  AuthError,
  BusyError,
  ConflictError,
  IntentBusError,
  LeaseLostError,
  LimitError,
  NotFoundError,
  RateLimitedError,
  StorageFullError,
  ValidationError,
} from "../core/errors.ts";
import { SqliteError } from "../storage/sqlite/connection.ts";

/**
 * An error with its own HTTP status, for answers no core error names:
 * `method_not_allowed`, `maintenance`, `https_required`.
 */
export class HttpError extends IntentBusError {
  /** The HTTP status to answer with. */
  readonly status: number;
  /** Extra response headers. */
  readonly headers: Record<string, string>;

  /**
   * Creates an error answered with `status`.
   *
   * @param status HTTP status.
   * @param code The protocol's error code.
   * @param message A sentence-case message.
   * @param headers Extra response headers.
   */
  constructor(
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(code, message);
    this.status = status;
    this.headers = headers;
  }
}

/** What {@linkcode toHttp} decided. */
export interface HttpAnswer {
  /** The HTTP status. */
  status: number;
  /** The protocol's error code, such as `not_found`. */
  code: string;
  /** The message for the error body. */
  message: string;
  /** Extra response headers, such as `Retry-After`. */
  headers: Record<string, string>;
  /** True for 500s, whose detail goes to the log, never to the client. */
  internal: boolean;
  /** True when the operator must see it in the log: a 500, a full database. */
  logged: boolean;
}

function retryAfter(seconds: number): Record<string, string> {
  return { "Retry-After": String(Math.max(0, seconds)) };
}

/**
 * Maps any thrown value to a status, code, message and headers.
 *
 * @param err What was thrown.
 * @returns The answer to send.
 */
export function toHttp(err: unknown): HttpAnswer {
  const answer = (
    status: number,
    e: IntentBusError,
    headers: Record<string, string> = {},
  ): HttpAnswer => ({
    status,
    code: e.code,
    message: e.message,
    headers,
    internal: false,
    logged: e instanceof StorageFullError,
  });
  if (err instanceof HttpError) return answer(err.status, err, err.headers);
  if (err instanceof ValidationError) {
    return answer(err.code === "payload_too_large" ? 413 : 400, err);
  }
  if (err instanceof AuthError) {
    return answer(err.code === "unauthorized" ? 401 : 403, err);
  }
  if (err instanceof NotFoundError || err instanceof LeaseLostError) {
    return answer(404, err);
  }
  if (err instanceof ConflictError) return answer(409, err);
  if (err instanceof RateLimitedError) {
    return answer(429, err, retryAfter(err.retryAfter));
  }
  if (err instanceof LimitError) return answer(429, err);
  if (err instanceof BusyError) {
    return answer(503, err, retryAfter(err.retryAfter));
  }
  if (err instanceof StorageFullError) {
    return answer(507, err, retryAfter(err.retryAfter));
  }
  if (err instanceof SqliteError && (err.code === 5 || err.code === 6)) {
    return answer(
      503,
      new BusyError("Database is busy: retry shortly"),
      retryAfter(1),
    );
  }
  return {
    status: 500,
    code: "internal_error",
    message: "An internal error occurred",
    headers: {},
    internal: true,
    logged: true,
  };
}

/**
 * Builds the JSON error response for a thrown value.
 *
 * @param err What was thrown.
 * @returns A response with the protocol's error body.
 */
export function errorResponse(err: unknown): Response {
  const a = toHttp(err);
  return jsonError(a.status, a.code, a.message, a.headers);
}

/**
 * A JSON error response.
 *
 * @param status HTTP status.
 * @param code The protocol's error code.
 * @param message A sentence-case message.
 * @param headers Extra headers.
 * @returns The response.
 */
export function jsonError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

/**
 * Turns an error response of the Intent Protocol back into the named errors of
 * `core/errors.ts`, so callers catch classes rather than read status codes.
 *
 * @module
 */

import {
  type AuthCode,
  AuthError,
  BusyError,
  type ConflictCode,
  ConflictError,
  IntentBusError,
  LeaseLostError,
  LimitError,
  NotFoundError,
  RateLimitedError,
  StorageFullError,
  type ValidationCode,
  ValidationError,
} from "../core/errors.ts";

const AUTH_CODES = ["unauthorized", "invalid_signature", "forbidden"];
const CONFLICT_CODES = ["conflict", "idempotency_conflict", "invalid_state"];
const VALIDATION_CODES = [
  "invalid_request",
  "invalid_payload",
  "payload_too_large",
  "invalid_json",
];

/** The message of our server's 404 for a path it has no route for. */
const NO_ROUTE = "No such route";

/**
 * True for our server's answer to a route it does not have: an extension's
 * route (`/ack`, `/intents`, `/release`…) on a server whose extensions are
 * off, such as one restarted with `--no-extensions`.
 *
 * @example
 * ```ts
 * import { NotFoundError } from "../core/errors.ts";
 * import { isMissingRoute } from "./_error_map.ts";
 *
 * console.log(isMissingRoute(new NotFoundError("No such route"))); // true
 * ```
 *
 * @param error Any error.
 * @returns Whether it says the route is missing.
 */
export function isMissingRoute(error: unknown): boolean {
  return error instanceof NotFoundError && error.message === NO_ROUTE;
}

/** What the SDK knows about a failed response. */
export interface ErrorResponse {
  status: number;
  /** The parsed body, or the raw text when it was not JSON. */
  body: unknown;
  /** Seconds from `Retry-After`, if any. */
  retryAfter?: number;
  /** True for fulfil, fail, extend and release, where 404 means lease lost. */
  leaseRoute?: boolean;
}

/**
 * Reads `{"error":{"code","message"}}`, tolerating the flat
 * `{"error":"text"}` some servers send.
 *
 * @param body The parsed body.
 * @returns The code and message, when present.
 */
export function readErrorBody(
  body: unknown,
): { code?: string; message?: string } {
  if (typeof body === "string") return { message: body || undefined };
  if (body === null || typeof body !== "object") return {};
  const error = (body as { error?: unknown }).error;
  if (typeof error === "string") return { message: error };
  if (error === null || typeof error !== "object") return {};
  const { code, message } = error as { code?: unknown; message?: unknown };
  return {
    code: typeof code === "string" ? code : undefined,
    message: typeof message === "string" ? message : undefined,
  };
}

/**
 * The named error for an error response.
 *
 * @param res The status, body and context of the response.
 * @returns An {@linkcode IntentBusError} subclass carrying the protocol code.
 */
export function errorFromResponse(res: ErrorResponse): IntentBusError {
  const { code, message: given } = readErrorBody(res.body);
  const message = given ?? `Request failed: HTTP ${res.status}`;
  const retryAfter = res.retryAfter ?? 1;
  const noRoute = code === "not_found" && given === NO_ROUTE;
  if (res.status === 404 && res.leaseRoute && !noRoute) {
    return new LeaseLostError(message);
  }
  if (code === "lease_lost") return new LeaseLostError(message);
  if (code === "rate_limited") return new RateLimitedError(message, retryAfter);
  if (code === "database_busy") return new BusyError(message, retryAfter);
  if (code === "storage_full") {
    return new StorageFullError(message, res.retryAfter ?? 60);
  }
  if (code === "limit_exceeded") return new LimitError(message);
  if (code === "not_found") return new NotFoundError(message);
  if (code && AUTH_CODES.includes(code)) {
    return new AuthError(message, code as AuthCode);
  }
  if (code && CONFLICT_CODES.includes(code)) {
    return new ConflictError(message, code as ConflictCode);
  }
  if (code && VALIDATION_CODES.includes(code)) {
    return new ValidationError(message, code as ValidationCode);
  }
  if (code) return new IntentBusError(code, message);
  switch (res.status) {
    case 401:
      return new AuthError(message, "unauthorized");
    case 403:
      return new AuthError(message, "forbidden");
    case 404:
      return new NotFoundError(message);
    case 409:
      return new ConflictError(message);
    case 429:
      return new RateLimitedError(message, retryAfter);
    case 400:
    case 422:
      return new ValidationError(message);
    case 413:
      return new ValidationError(message, "payload_too_large");
    case 503:
      return new BusyError(message, retryAfter);
  }
  return new IntentBusError(`http_${res.status}`, message);
}

/**
 * Conversions between the SDK's camelCase types and the protocol's JSON.
 *
 * @module
 */

import type { IntentBusError } from "../core/errors.ts";
import type { JsonInput, JsonValue } from "../core/intent.ts";
import { LIMITS } from "../core/limits.ts";
import { errorFromResponse } from "./_error_map.ts";
import type { Ack, IntentFields, LeasedIntent } from "./types.ts";

/**
 * The publish body of one intent (without its idempotency key).
 *
 * @param goal The goal.
 * @param payload The payload.
 * @param f Optional fields.
 * @param namespace The namespace when `f` names none.
 * @returns The protocol's JSON object.
 */
export function publishBody(
  goal: string,
  payload: JsonInput,
  f: IntentFields,
  namespace: string,
): Record<string, unknown> {
  return {
    goal,
    payload,
    namespace: f.namespace ?? namespace,
    priority: f.priority,
    delay: f.delay,
    max_attempts: f.maxAttempts,
    backoff_base: f.backoffBase,
    visibility: f.visibility,
    target_worker: f.targetWorker,
    required_capability: f.requiredCapability,
  };
}

const str = (v: unknown, fallback = ""): string =>
  typeof v === "string" ? v : fallback;
const num = (v: unknown, fallback: number): number =>
  typeof v === "number" && Number.isFinite(v) ? v : fallback;
const strOrNull = (v: unknown): string | null =>
  typeof v === "string" ? v : null;

/**
 * A claim answer as a {@linkcode LeasedIntent}.
 *
 * @param raw One intent of the claim answer.
 * @param lease The lease asked for, if any.
 * @returns The leased intent.
 * @throws {TypeError} when `id` or `claim_token` is missing.
 */
export function toLeasedIntent(
  raw: Record<string, unknown>,
  lease?: number,
): LeasedIntent {
  if (typeof raw.id !== "string" || typeof raw.claim_token !== "string") {
    throw new TypeError("Claim answer lacks id or claim_token");
  }
  // Servers name the lease differently; the original's `claim_timeout` is the
  // lease length in seconds. Fall back to what was asked, then the default.
  const granted = num(
    raw.lease_seconds,
    num(raw.claim_timeout, lease ?? LIMITS.leaseDefault),
  );
  return {
    id: raw.id,
    namespace: str(raw.namespace, "default"),
    goal: str(raw.goal),
    payload: (raw.payload ?? null) as JsonValue,
    claimToken: raw.claim_token,
    claimAttempts: num(raw.claim_attempts, 1),
    priority: num(raw.priority, LIMITS.priorityDefault),
    targetWorker: strOrNull(raw.target_worker),
    requiredCapability: strOrNull(raw.required_capability),
    leaseSeconds: granted,
    raw,
  };
}

/**
 * The claimed intents of a 200 claim answer, single or batch.
 *
 * @param body The parsed answer.
 * @param lease The lease asked for, if any.
 * @returns The leased intents.
 */
export function claimedIntents(body: unknown, lease?: number): LeasedIntent[] {
  if (body === null || typeof body !== "object") return [];
  const list = (body as { intents?: unknown }).intents;
  const raws = Array.isArray(list) ? list : [body];
  return raws.map((r) => toLeasedIntent(r as Record<string, unknown>, lease));
}

/**
 * Error text cut to the protocol's 500 characters.
 *
 * @param error Anything thrown.
 * @returns Its message, at most 500 characters.
 */
export function errorText(error: unknown): string {
  const text = error instanceof Error
    ? error.message || error.name
    : typeof error === "string"
    ? error
    : JSON.stringify(error) ?? String(error);
  return [...text].slice(0, LIMITS.errorTextMax).join("");
}

/**
 * The wire form of one acknowledgement.
 *
 * @param ack The acknowledgement.
 * @returns The protocol's JSON object.
 */
export function ackBody(ack: Ack): Record<string, unknown> {
  return ack.status === "fulfilled"
    ? {
      id: ack.id,
      claim_token: ack.claimToken,
      status: ack.status,
      result: ack.result,
      result_type: ack.result === undefined
        ? undefined
        : ack.resultType ?? "json",
    }
    : {
      id: ack.id,
      claim_token: ack.claimToken,
      status: ack.status,
      error: ack.error,
    };
}

/**
 * The error of one item of a batch answer, if it has one. A `not_found` item
 * of a lease operation is a lost lease.
 *
 * @param item One entry of `results`.
 * @param leaseRoute Whether 404 means the lease is lost.
 * @returns The named error, or undefined when the item succeeded.
 */
export function itemError(
  item: unknown,
  leaseRoute = false,
): IntentBusError | undefined {
  if (item === null || typeof item !== "object") return undefined;
  const error = (item as { error?: unknown }).error;
  if (error === undefined || error === null) return undefined;
  const code = typeof error === "object"
    ? (error as { code?: unknown }).code
    : undefined;
  return errorFromResponse({
    status: code === "not_found" ? 404 : 400,
    body: item,
    leaseRoute,
  });
}

/**
 * The requests of the client's one-route calls: a claim (and its answer,
 * intents or the server's idle hint), a lease call (fulfil, fail, extend,
 * release), a plain read, an admin call.
 *
 * @module
 */

import { LIMITS } from "../core/limits.ts";
import { parseRetryAfter } from "./_backoff.ts";
import { jsonText } from "./_pack.ts";
import type { Reply, RequestSpec } from "./_transport.ts";
import { claimedIntents } from "./_wire.ts";
import type { CallOptions, ClaimBatch, ClaimOptions } from "./types.ts";

/**
 * One claim request. A long-poll's `wait` is capped at the protocol's
 * longest, and added to the attempt's timeout.
 *
 * @param goal The goal to work on.
 * @param opts Claim options, plus `max` for a batch claim.
 * @param namespace The client's namespace, when `opts` names none.
 * @param timeoutMs The client's timeout, when `opts` sets none.
 * @returns The request.
 */
export function claimSpec(
  goal: string,
  opts: ClaimOptions & { max?: number },
  namespace: string,
  timeoutMs: number,
): RequestSpec {
  const wait = opts.wait ? Math.min(opts.wait, LIMITS.waitMax) : undefined;
  const timeout = opts.timeoutMs ?? timeoutMs;
  return {
    method: "POST",
    path: "/claim",
    query: {
      goal,
      namespace: opts.namespace ?? namespace,
      publisher: opts.publisher,
      wait,
      max: opts.max,
      lease: opts.lease,
    },
    signal: opts.signal,
    timeoutMs: timeout + (wait ?? 0) * 1000,
  };
}

/**
 * A claim's answer: the intents claimed, or none and the server's
 * `Retry-After` hint.
 *
 * @param r The reply.
 * @param lease The lease asked for, when the answer does not say.
 * @returns The intents and the idle hint.
 */
export function claimBatchOf(r: Reply, lease?: number): ClaimBatch {
  if (r.status === 204) {
    return { intents: [], retryAfter: retryAfterOf(r) };
  }
  return { intents: claimedIntents(r.body, lease) };
}

/**
 * A call on a lease: a 404 answer means the lease is lost.
 *
 * @param path The route, its id already encoded.
 * @param opts Signal and timeout.
 * @param body The body, encoded here.
 * @param what What the body is, for the message when it cannot be encoded.
 * @returns The request.
 * @throws {ValidationError} code `invalid_json` when the body cannot be
 *   encoded.
 */
export function leaseSpec(
  path: string,
  opts: CallOptions,
  body: unknown,
  what = "Body",
): RequestSpec {
  return {
    method: "POST",
    path,
    json: jsonText(body, what),
    leaseRoute: true,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
  };
}

/**
 * An admin call, sent with the admin token.
 *
 * @param method GET or POST.
 * @param path The route.
 * @param opts Signal and timeout.
 * @param body The body, if any.
 * @param query The query, if any.
 * @returns The request.
 */
export function adminSpec(
  method: "GET" | "POST",
  path: string,
  opts: CallOptions,
  body?: unknown,
  query?: RequestSpec["query"],
): RequestSpec {
  return {
    method,
    path,
    body,
    query,
    admin: true,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
  };
}

/**
 * A plain read.
 *
 * @param path The route.
 * @param opts Signal and timeout.
 * @returns The request.
 */
export function getSpec(path: string, opts: CallOptions): RequestSpec {
  return {
    method: "GET",
    path,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
  };
}

function retryAfterOf(r: Reply): number | undefined {
  return parseRetryAfter(r.headers.get("Retry-After"));
}

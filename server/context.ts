/**
 * What every route file shares: the app's environment type, the services
 * built once by `createApp`, the API-key middleware, and small helpers for
 * ids and bodies.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import type { Clock } from "../core/clock.ts";
import { AuthError, NotFoundError } from "../core/errors.ts";
import type { Intent } from "../core/intent.ts";
import { ID_PATTERN } from "../core/limits.ts";
import type { Storage } from "../storage/storage.ts";
import type { AdminGuard } from "./auth/admin.ts";
import type { ApiKeys, Principal } from "./auth/keys.ts";
import type { SignatureChecker } from "./auth/hmac.ts";
import type { RateLimiter } from "./auth/rate_limit.ts";
import { parseJsonObject, readBody } from "./body.ts";
import type { ServerConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import type { Maintenance } from "./maintenance.ts";
import type { RequestMetrics } from "./request_metrics.ts";
import type { Waiters } from "./waiters.ts";

/** Hono environment: what the API-key middleware leaves for handlers. */
export type AppEnv = {
  Variables: {
    /** The authenticated caller. */
    who: Principal;
    /** The raw request body (empty when none). */
    body: Uint8Array;
  };
};

/** The services route files use; built once per app. */
export interface Services {
  store: Storage;
  clock: Clock;
  config: ServerConfig;
  log: Logger;
  /** A number in [0, 1): backoff jitter. */
  random: () => number;
  keys: ApiKeys;
  signatures: SignatureChecker;
  limiter: RateLimiter;
  /** Checks admin credentials, slowing down guesses. */
  admin: AdminGuard;
  metrics: RequestMetrics;
  maintenance: Maintenance;
  /** Long-poll wake-ups. */
  waiters: Waiters;
}

/**
 * The client's address, as the runtime's listener passes it to the app
 * (`info.remoteAddr` of `Deno.serve`, the same shape from the Node one).
 *
 * @param env The app's second `fetch` argument (Hono's `c.env`).
 * @returns The address, or "" when unknown (a test calling the app).
 */
export function remoteAddress(env: unknown): string {
  return (env as { remoteAddr?: { hostname?: string } } | undefined)
    ?.remoteAddr?.hostname ?? "";
}

/**
 * The API-key middleware: `X-API-KEY` (401), rate limit (429), body read
 * under the size cap (413), signature (403). Leaves `who` and `body` on the
 * context.
 *
 * @param s The services.
 * @returns The middleware.
 */
export function apiKeyAuth(s: Services): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.raw.headers.get("x-api-key");
    if (key === null || key === "") {
      throw new AuthError("Missing API key: send X-API-KEY");
    }
    const who = await s.keys.resolve(key);
    if (who === null) throw new AuthError("Invalid API key");
    // Rate limit first: a refused request then costs no nonce write.
    if (!who.master) s.limiter.take(who.hash);
    const body = await readBody(c.req.raw, s.config.bodyBytes);
    await s.signatures.check(c.req.raw, who, body);
    c.set("who", who);
    c.set("body", body);
    await next();
  };
}

/**
 * The parsed JSON object body of the request; `{}` when empty.
 *
 * @param c The context, after {@linkcode apiKeyAuth} or {@linkcode readJsonBody}.
 * @returns The object.
 * @throws {ValidationError} for malformed JSON or a non-object.
 */
export function jsonBody(c: Context<AppEnv>): Record<string, unknown> {
  return parseJsonObject(c.get("body"));
}

/**
 * Reads and parses the body on routes without API-key auth (admin).
 *
 * @param c The context.
 * @param s The services (for the size cap).
 * @returns The object; `{}` when empty.
 */
export async function readJsonBody(
  c: Context<AppEnv>,
  s: Services,
): Promise<Record<string, unknown>> {
  return parseJsonObject(await readBody(c.req.raw, s.config.bodyBytes));
}

/**
 * The `:id` path parameter, checked against the id pattern.
 *
 * @param c The context.
 * @returns The id.
 * @throws {NotFoundError} when it is not 32 lowercase hex characters: no
 *   intent can have such an id.
 */
export function idParam(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!ID_PATTERN.test(id)) {
    throw new NotFoundError(`Intent not found: "${id}"`);
  }
  return id;
}

/** Unix milliseconds to the protocol's float seconds; null stays null. */
export function seconds(ms: number | null): number | null {
  return ms === null ? null : ms / 1000;
}

/**
 * The status view of an intent, as `/status` answers it.
 *
 * @param i The intent.
 * @returns Protocol field names; times in unix float seconds.
 */
export function statusView(i: Intent): Record<string, unknown> {
  return {
    id: i.id,
    namespace: i.namespace,
    goal: i.goal,
    status: i.state,
    priority: i.priority,
    visibility: i.visibility,
    claim_attempts: i.claimAttempts,
    max_attempts: i.maxAttempts,
    run_at: seconds(i.runAt),
    created_at: seconds(i.createdAt),
    expires_at: seconds(i.expiresAt),
    claim_expires_at: i.state === "claimed" ? seconds(i.leaseExpiresAt) : null,
    target_worker: i.targetWorker,
    required_capability: i.requiredCapability,
    completed_at: seconds(i.completedAt),
    last_error: i.lastError,
    ...(i.deadReason !== null ? { dead_reason: i.deadReason } : {}),
  };
}

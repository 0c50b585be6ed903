/**
 * Publishing and reading intents: `POST /intent`, `GET /status/:id`,
 * `GET /result/:id`.
 *
 * Publish honours `Idempotency-Key` durably (a replay with the same key and
 * the same fields answers the stored 201; other fields answer 409
 * `idempotency_conflict`), and caps issued keys at their open-intent quota
 * (429 `limit_exceeded`). An intent expires 24 hours after it becomes due,
 * so a `delay` of up to 30 days works.
 *
 * Status and result are shown to the publisher, the claimer and the master
 * key; anyone else gets 404, as if the intent did not exist.
 *
 * @module
 */

import type { Hono, MiddlewareHandler } from "hono";
import { NotFoundError, ValidationError } from "../../core/errors.ts";
import type { Intent, JsonValue } from "../../core/intent.ts";
import { LIMITS } from "../../core/limits.ts";
import { sha256Hex } from "../auth/keys.ts";
import type { Principal } from "../auth/keys.ts";
import type { IntentInsertParams } from "../../storage/storage.ts";
import {
  type AppEnv,
  idParam,
  jsonBody,
  seconds,
  type Services,
  statusView,
} from "../context.ts";
import { type PublishFields, validatePublish } from "../validate.ts";
import { goalKey } from "../waiters.ts";

/** JSON with object keys sorted, for hashing; depth is already bounded. */
function stable(v: JsonValue): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  const keys = Object.keys(v).sort();
  return `{${
    keys.map((k) => `${JSON.stringify(k)}:${stable(v[k])}`).join(",")
  }}`;
}

function requestHash(f: PublishFields): Promise<string> {
  const { payload, ...rest } = f;
  return sha256Hex(
    `${stable(rest as unknown as JsonValue)}\n${stable(payload)}`,
  );
}

/**
 * Checks an idempotency key.
 *
 * @param raw The header or field, if any.
 * @returns The key, or null.
 * @throws {ValidationError} unless it is a string of 1 to 256 characters.
 */
export function idempotencyKey(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  const max = LIMITS.idempotencyKeyMax;
  if (typeof raw !== "string" || raw.length === 0 || raw.length > max) {
    throw new ValidationError(
      `Invalid Idempotency-Key: 1 to ${max} characters`,
    );
  }
  return raw;
}

/**
 * The store's insert parameters for a checked publish.
 *
 * @param s The services (clock, quota).
 * @param f The checked fields.
 * @param who The publisher.
 * @param idem The idempotency key, if any.
 * @returns Parameters for `intentInsert`.
 */
export async function insertParams(
  s: Services,
  f: PublishFields,
  who: Principal,
  idem: string | null,
): Promise<IntentInsertParams> {
  const now = s.clock.now();
  const runAt = now + f.delayMs;
  return {
    id: newId(now),
    namespace: f.namespace,
    goal: f.goal,
    payload: f.payload,
    priority: f.priority,
    visibility: f.visibility,
    targetWorker: f.targetWorker,
    requiredCapability: f.requiredCapability,
    maxAttempts: f.maxAttempts,
    backoffBase: f.backoffBase,
    publisher: who.hash,
    quota: who.master || s.config.openQuota <= 0 ? null : s.config.openQuota,
    idempotencyKey: idem,
    requestHash: idem === null ? null : await requestHash(f),
    runAt,
    expiresAt: runAt + LIMITS.ttlSeconds * 1000,
    now,
  };
}

/**
 * A new intent id: 32 lowercase hex, the first 12 the time in ms and the
 * other 20 random (80 bits). Ids made close in time sort close together, so
 * a batch of inserts touches a few pages of the primary-key index instead of
 * one random page each: measured, half the write time per insert, since
 * fewer pages go through the WAL and its checkpoints.
 */
function newId(now: number): string {
  const r = crypto.randomUUID();
  return Math.max(0, Math.trunc(now)).toString(16).padStart(12, "0")
    .slice(-12) + r.slice(0, 8) + r.slice(9, 13) + r.slice(24, 32);
}

async function visibleIntent(
  s: Services,
  id: string,
  who: Principal,
): Promise<Intent> {
  const intent = await s.store.intentGet({ id });
  if (
    intent === null ||
    !(who.master || intent.publisher === who.hash ||
      intent.claimedBy === who.hash)
  ) {
    throw new NotFoundError(`Intent not found: "${id}"`);
  }
  return intent;
}

/**
 * Registers the intent routes.
 *
 * @param app The app.
 * @param s The services.
 * @param auth The API-key middleware.
 */
export function intentRoutes(
  app: Hono<AppEnv>,
  s: Services,
  auth: MiddlewareHandler<AppEnv>,
): void {
  app.post("/intent", auth, async (c) => {
    const who = c.get("who");
    const f = validatePublish(jsonBody(c));
    const idem = idempotencyKey(c.req.raw.headers.get("idempotency-key"));
    const { intent } = await s.store.intentInsert(
      await insertParams(s, f, who, idem),
    );
    if (f.delayMs === 0) s.waiters.notify(goalKey(f.namespace, f.goal));
    return c.json(
      { id: intent.id, status: "published", namespace: intent.namespace },
      201,
    );
  });

  app.get("/status/:id", auth, async (c) => {
    const intent = await visibleIntent(s, idParam(c), c.get("who"));
    return c.json(statusView(intent));
  });

  app.get("/result/:id", auth, async (c) => {
    const intent = await visibleIntent(s, idParam(c), c.get("who"));
    const view = statusView(intent);
    if (intent.lastError !== null) view.error = intent.lastError;
    // result_type is never null: the Python SDK crashes on it. Absent means
    // there is no result (yet).
    if (intent.result !== null) {
      view.result = intent.result;
      view.result_type = intent.resultType ?? "json";
    }
    view.completed_at = seconds(intent.completedAt);
    return c.json(view);
  });
}

/**
 * Batch routes, additions over the original protocol (advertised in
 * `/health` `features`):
 *
 * - `POST /intents` `{"intents":[{...publish fields, "idempotency_key"?}],
 *   "atomic"?}` → `{"results":[{"id","status","namespace"} |
 *   {"error":{"code","message"}}]}`, in order, up to 1000 items in one
 *   transaction. With `"atomic": true`, one bad item fails them all.
 * - `POST /ack` `{"acks":[{"id","claim_token","status":"fulfilled"|"failed",
 *   "result"?,"result_type"?,"error"?}]}` → `{"results":[{"ok":true,"id",
 *   "status"} | {"id","error":{"code","message"}}]}`, each on its own, in one
 *   transaction.
 *
 * @module
 */

import type { Hono, MiddlewareHandler } from "hono";
import { NotFoundError, ValidationError } from "../../core/errors.ts";
import { ID_PATTERN, LIMITS } from "../../core/limits.ts";
import type {
  AckItem,
  IntentInsertManyResult,
  IntentInsertParams,
} from "../../storage/storage.ts";
import { type AppEnv, jsonBody, type Services } from "../context.ts";
import { toHttp } from "../errors.ts";
import {
  booleanField,
  errorField,
  idempotencyKeyField,
  tokenField,
  validateFulfil,
  validatePublish,
} from "../validate.ts";
import { goalKey } from "../waiters.ts";
import { insertParams } from "./intents.ts";

function errorItem(err: unknown, id?: string) {
  const a = toHttp(err);
  if (a.internal) throw err;
  return {
    ...(id !== undefined ? { id } : {}),
    error: { code: a.code, message: a.message },
  };
}

function list(body: Record<string, unknown>, field: string, max: number) {
  const items = body[field];
  if (!Array.isArray(items) || items.length === 0 || items.length > max) {
    throw new ValidationError(
      `Invalid ${field}: must be an array of 1 to ${max} items`,
    );
  }
  return items as unknown[];
}

function object(item: unknown, index: number): Record<string, unknown> {
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    throw new ValidationError(`Invalid item ${index}: must be an object`);
  }
  return item as Record<string, unknown>;
}

/**
 * Registers the batch routes.
 *
 * @param app The app.
 * @param s The services.
 * @param auth The API-key middleware.
 */
export function batchRoutes(
  app: Hono<AppEnv>,
  s: Services,
  auth: MiddlewareHandler<AppEnv>,
): void {
  app.post("/intents", auth, async (c) => {
    const who = c.get("who");
    const body = jsonBody(c);
    const atomic = booleanField(body, "atomic", false);
    const items = list(body, "intents", LIMITS.batchPublishMax);
    const checked: (IntentInsertParams | Error)[] = [];
    for (const [i, item] of items.entries()) {
      try {
        const o = object(item, i);
        checked.push(
          await insertParams(
            s,
            validatePublish(o),
            who,
            idempotencyKeyField(o),
          ),
        );
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        if (atomic) {
          throw new ValidationError(
            `Item ${i}: ${err.message}`,
            err.code as "invalid_request",
          );
        }
        checked.push(err);
      }
    }
    const valid = checked.filter((x): x is IntentInsertParams =>
      !(x instanceof Error)
    );
    const stored = valid.length === 0
      ? []
      : await s.store.intentInsertMany({ items: valid, atomic });
    let next = 0;
    const results = checked.map((x) => {
      if (x instanceof Error) return errorItem(x);
      const r: IntentInsertManyResult = stored[next++];
      if (!r.ok) return errorItem(r.error);
      return {
        id: r.intent.id,
        status: "published",
        namespace: r.intent.namespace,
      };
    });
    for (const p of valid) {
      if (p.runAt <= p.now) s.waiters.notify(goalKey(p.namespace, p.goal));
    }
    return c.json({ results });
  });

  app.post("/ack", auth, async (c) => {
    const caller = c.get("who").hash;
    const items = list(jsonBody(c), "acks", LIMITS.batchPublishMax);
    const now = s.clock.now();
    const checked: (AckItem | { id?: string; err: Error })[] = items.map(
      (item, i) => {
        let id: string | undefined;
        try {
          const o = object(item, i);
          id = typeof o.id === "string" ? o.id : undefined;
          if (id === undefined || !ID_PATTERN.test(id)) {
            throw new NotFoundError(`Intent not found: "${id}"`);
          }
          const lease = { id, token: tokenField(o), caller, now };
          if (o.status === "fulfilled") {
            return { kind: "fulfil", ...lease, ...validateFulfil(o) };
          }
          if (o.status === "failed") {
            return {
              kind: "fail",
              ...lease,
              error: errorField(o),
              jitter: s.random(),
            };
          }
          throw new ValidationError(
            "Invalid status: must be fulfilled or failed",
          );
        } catch (err) {
          return { id, err: err as Error };
        }
      },
    );
    const valid = checked.filter((x): x is AckItem => "kind" in x);
    const done = valid.length === 0
      ? []
      : await s.store.intentAckMany({ items: valid });
    let next = 0;
    const results = checked.map((x) => {
      if (!("kind" in x)) return errorItem(x.err, x.id);
      const r = done[next++];
      if (!r.ok) return errorItem(r.error, x.id);
      return { ok: true, id: x.id, status: r.intent.state };
    });
    return c.json({ results });
  });
}

/**
 * The small key-value store: `POST /set/:key` with `{"value","ttl"}` and
 * `GET /get/:key`. Keys are private to each API key. Values are stored as
 * JSON and returned unchanged (the original stored Python's `str()`).
 *
 * @module
 */

import type { Hono, MiddlewareHandler } from "hono";
import { NotFoundError, ValidationError } from "../../core/errors.ts";
import type { JsonValue } from "../../core/intent.ts";
import { LIMITS } from "../../core/limits.ts";
import { checkJsonValue } from "../body.ts";
import { type AppEnv, jsonBody, type Services } from "../context.ts";
import { identifierText, numberField } from "../validate.ts";

function keyParam(raw: string | undefined): string {
  return identifierText(raw ?? "", "key", LIMITS.kvKeyMax);
}

/**
 * Registers the KV routes.
 *
 * @param app The app.
 * @param s The services.
 * @param auth The API-key middleware.
 */
export function kvRoutes(
  app: Hono<AppEnv>,
  s: Services,
  auth: MiddlewareHandler<AppEnv>,
): void {
  app.post("/set/:key", auth, async (c) => {
    const key = keyParam(c.req.param("key"));
    const body = jsonBody(c);
    if (!("value" in body)) throw new ValidationError("Missing value");
    const value = body.value as JsonValue;
    checkJsonValue(value, "value", LIMITS.payloadDepth, LIMITS.payloadBytes);
    const ttl = numberField(body, "ttl", {
      min: LIMITS.kvTtlMin,
      max: LIMITS.kvTtlMax,
      fallback: LIMITS.kvTtlDefault,
    });
    const now = s.clock.now();
    await s.store.kvSet({
      owner: c.get("who").hash,
      key,
      value,
      expiresAt: now + Math.round(ttl * 1000),
      now,
    });
    return c.json({ ok: true });
  });

  app.get("/get/:key", auth, async (c) => {
    const key = keyParam(c.req.param("key"));
    const found = await s.store.kvGet({
      owner: c.get("who").hash,
      key,
      now: s.clock.now(),
    });
    if (found === null) throw new NotFoundError(`Key not found: "${key}"`);
    return c.json({ value: found.value });
  });
}

/**
 * Admin routes, behind `X-Admin-Token` or HTTP Basic `admin:<password>`:
 * the dashboard, key issue and revoke, purge, cleanup, intent inspection,
 * cancel and retry (409 `invalid_state` where they make no sense: cancel of a
 * finished intent, retry of one that is not dead), and the dead letters.
 *
 * @module
 */

import type { Hono } from "hono";
import { NotFoundError, ValidationError } from "../../core/errors.ts";
import type { Intent } from "../../core/intent.ts";
import { ID_PATTERN } from "../../core/limits.ts";

import {
  type AppEnv,
  idParam,
  readJsonBody,
  remoteAddress,
  seconds,
  type Services,
  statusView,
} from "../context.ts";
import {
  goalValue,
  identifierText,
  namespaceValue,
  numberField,
} from "../validate.ts";
import { dashboardHtml } from "./dashboard.ts";
import { goalKey } from "../waiters.ts";

/** Rows of each table one purge write deletes at most. */
const PURGE_CHUNK = 2000;

/** Longest key owner, in characters (code points). */
const OWNER_MAX = 100;

/** Every field of an intent, for admins; times in unix float seconds. */
function adminView(i: Intent): Record<string, unknown> {
  return {
    ...statusView(i),
    payload: i.payload,
    publisher: i.publisher,
    claimed_by: i.claimedBy,
    worker_id: i.workerId,
    claim_token: i.claimToken,
    lease_epoch: i.leaseEpoch,
    backoff_base: i.backoffBase,
    updated_at: seconds(i.updatedAt),
    result: i.result,
    ...(i.resultType !== null ? { result_type: i.resultType } : {}),
    dead_reason: i.deadReason,
  };
}

/**
 * The dead-letter listing entry; `intent_id` and `reason` as the original
 * named them. `died_at` is the intent's `updatedAt`: every move to the dead
 * letters sets both to the same moment, and nothing changes a dead row.
 */
function deadView(i: Intent): Record<string, unknown> {
  return {
    intent_id: i.id,
    id: i.id,
    namespace: i.namespace,
    goal: i.goal,
    attempts: i.claimAttempts,
    reason: i.deadReason,
    last_error: i.lastError,
    created_at: seconds(i.createdAt),
    died_at: seconds(i.updatedAt),
  };
}

/**
 * Reads the paging cursor of `GET /admin/dead`. `before` (unix seconds) alone
 * lists what died strictly before it, as it always did; the next page after
 * an entry is `before=<its died_at>&before_id=<its id>`, which also lists
 * the rest of that millisecond. Times are whole milliseconds, so `before` is
 * rounded to one: the `died_at` a client read back is then exact.
 *
 * @param q The query.
 * @returns `before` in ms and `beforeId`, each absent when not given.
 * @throws {ValidationError} for a bad value, or `before_id` without `before`.
 */
function deadCursor(
  q: Record<string, string>,
): { before?: number; beforeId?: string } {
  const before = q.before === undefined ? undefined : Math.round(
    numberField(q, "before", { min: 0, max: 1e11, fallback: 0 }) * 1000,
  );
  if (q.before_id === undefined) return { before };
  if (!ID_PATTERN.test(q.before_id)) {
    throw new ValidationError(
      `Invalid before_id: ${
        JSON.stringify(q.before_id).slice(0, 80)
      } is not an intent id`,
    );
  }
  if (before === undefined) {
    throw new ValidationError(
      "Invalid before_id: needs before, the died_at of the same entry",
    );
  }
  return { before, beforeId: q.before_id };
}

/**
 * Registers the admin routes.
 *
 * @param app The app.
 * @param s The services.
 */
export function adminRoutes(app: Hono<AppEnv>, s: Services): void {
  app.use("/admin/*", async (c, next) => {
    s.admin.require(c.req.raw.headers, remoteAddress(c.env));
    await next();
  });

  app.get("/admin/dashboard", async (c) => {
    const stats = await s.store.statsGet({ now: s.clock.now() });
    return c.html(
      dashboardHtml(stats, s.config.version, s.store.metricsGet()),
    );
  });

  app.post("/admin/generate_key", async (c) => {
    const body = await readJsonBody(c, s);
    const owner = body.owner ?? "anonymous";
    if (typeof owner !== "string") {
      throw new ValidationError("Invalid owner: must be a string");
    }
    // As a goal is: SQLite kept a NUL where PostgreSQL refused it.
    identifierText(owner, "owner", OWNER_MAX);
    const key = await s.keys.issue(owner);
    s.log.info("api key issued", { owner });
    return c.json({ api_key: key, owner }, 201);
  });

  app.post("/admin/revoke_key", async (c) => {
    const body = await readJsonBody(c, s);
    if (typeof body.api_key !== "string" || body.api_key === "") {
      throw new ValidationError("Missing api_key");
    }
    if (!(await s.keys.revoke(body.api_key))) {
      throw new NotFoundError("API key not found or already revoked");
    }
    return c.json({ ok: true, revoked: true });
  });

  app.post("/admin/purge", async (c) => {
    const body = await readJsonBody(c, s);
    if (body.confirm !== true) {
      throw new ValidationError('Confirmation required: send {"confirm":true}');
    }
    // Elsewhere "" means `default`; here it would purge `default` for a
    // caller who meant no namespace at all, or forgot to fill one in.
    if (body.namespace === "") {
      throw new ValidationError(
        "Invalid namespace: must not be empty; omit it to purge every namespace",
      );
    }
    const namespace = body.namespace === undefined || body.namespace === null
      ? null
      : namespaceValue(body.namespace);
    // In chunks, each a short write of its own, so that publishes, claims
    // and acknowledgements go on between them; what is published meanwhile
    // stays.
    const now = s.clock.now();
    let deleted = 0;
    for (let n = -1; n !== 0;) {
      n = await s.store.intentPurge({ namespace, now, limit: PURGE_CHUNK });
      deleted += n;
    }
    s.log.warn("purge", { namespace, deleted });
    return c.json({ ok: true, deleted, namespace });
  });

  app.post("/admin/cleanup", async (c) => {
    await readJsonBody(c, s);
    const { reap, pruned } = await s.maintenance.runOnce();
    return c.json({
      ok: true,
      expired_claims_requeued: reap.retried,
      expired_claims_dead: reap.dead,
      // Spelled out: the store's result is camelCase, the API snake_case.
      deleted: {
        intents: pruned.intents,
        dead: pruned.dead,
        nonces: pruned.nonces,
        idempotency_keys: pruned.idempotencyKeys,
        kv: pruned.kv,
      },
    });
  });

  app.get("/admin/intents/:id", async (c) => {
    const id = idParam(c);
    const intent = await s.store.intentGet({ id });
    if (intent === null) throw new NotFoundError(`Intent not found: "${id}"`);
    return c.json(adminView(intent));
  });

  app.post("/admin/intents/:id/cancel", async (c) => {
    const id = idParam(c);
    const intent = await s.store.intentCancel({ id, now: s.clock.now() });
    return c.json({ ok: true, id, status: intent.state });
  });

  app.post("/admin/intents/:id/retry", async (c) => {
    const id = idParam(c);
    const intent = await s.store.intentRetry({ id, now: s.clock.now() });
    s.waiters.notify(goalKey(intent.namespace, intent.goal));
    return c.json({ ok: true, id, status: intent.state });
  });

  app.get("/admin/dead", async (c) => {
    const q = c.req.query();
    const dead = await s.store.deadList({
      ...deadCursor(q),
      namespace: q.namespace === undefined
        ? undefined
        : namespaceValue(q.namespace),
      goal: q.goal === undefined ? undefined : goalValue(q.goal),
      limit: numberField(q, "limit", {
        min: 1,
        max: 1000,
        fallback: 100,
        integer: true,
      }),
    });
    return c.json(dead.map(deadView));
  });

  app.get("/admin/dead/:id", async (c) => {
    const id = c.req.param("id");
    const intent = ID_PATTERN.test(id) ? await s.store.intentGet({ id }) : null;
    if (intent === null || intent.state !== "dead") {
      throw new NotFoundError(`Dead intent not found: "${id}"`);
    }
    return c.json({ ...deadView(intent), ...adminView(intent) });
  });
}

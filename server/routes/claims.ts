/**
 * The worker side: `POST /claim`, `/extend_claim/:id`, `/fulfill/:id`,
 * `/fail/:id`.
 *
 * Claim reads `goal` (required), `namespace`, `publisher`, `worker_id` and
 * `capabilities` from the query; `X-Worker-ID` and `X-Worker-Capabilities`
 * win over the query. Additions (old clients never send them): `lease`
 * (10 to 3600 s, default 60), `max` (1 to 100: answers `{"intents":[...]}`)
 * and `wait` (long poll, up to 30 s). Nothing claimable: 204 with
 * `Retry-After: 1`.
 *
 * `POST /release/:id` (an addition) gives a claimed intent back, open and
 * due at once, without using up an attempt: for workers shutting down.
 *
 * With extensions off (`config.extensions`), `lease`, `max` and `wait` are
 * ignored, as the original server ignored them, and `/release` is absent.
 *
 * Extend, fulfil and fail take the current `claim_token`; without one (the
 * v1.1 form) they are accepted only from the key holding a live lease. A
 * lost lease is 404, which clients read as "stop working on it".
 *
 * @module
 */

import type { Hono, MiddlewareHandler } from "hono";
import { AuthError, ValidationError } from "../../core/errors.ts";
import type { ClaimedIntent } from "../../core/intent.ts";
import { LIMITS } from "../../core/limits.ts";
import { sha256Hex } from "../auth/keys.ts";
import type { Principal } from "../auth/keys.ts";
import { type AppEnv, idParam, jsonBody, type Services } from "../context.ts";
import { goalKey } from "../waiters.ts";
import {
  errorField,
  goalValue,
  namespaceValue,
  numberField,
  tokenField,
  validateFulfil,
} from "../validate.ts";

const HASH = /^[0-9a-f]{64}$/;

/** The publisher filter: a raw key or a key hash; others' only for the master. */
async function publisherFilter(
  raw: string | undefined,
  who: Principal,
): Promise<string | null> {
  if (raw === undefined || raw === "") return null;
  if (raw === who.key || raw === who.hash) return who.hash;
  if (!who.master) {
    throw new AuthError(
      "Publisher filtering is restricted: only your own key",
      "forbidden",
    );
  }
  return HASH.test(raw) ? raw : await sha256Hex(raw);
}

// A worker's id and capabilities are its own word, and the query may carry a
// NUL (`%00`), which node:sqlite would read back cut and PostgreSQL refuses:
// it is kept as U+FFFD, as in a fail's error text.
function workerIdentity(h: Headers, q: Record<string, string>) {
  const workerId = (h.get("x-worker-id")?.trim() || q.worker_id?.trim() || "")
    .slice(0, 64).replaceAll("\u0000", "\uFFFD");
  const caps = (h.get("x-worker-capabilities")?.trim() ||
    h.get("x-worker-capability")?.trim() || q.capabilities?.trim() ||
    q.capability?.trim() || "").replaceAll("\u0000", "\uFFFD");
  const capabilities = caps === ""
    ? []
    : caps.split(",").map((x) => x.trim()).filter((x) => x !== "").slice(
      0,
      64,
    );
  return { workerId: workerId === "" ? null : workerId, capabilities };
}

function claimView(i: ClaimedIntent, leaseSeconds: number) {
  return {
    id: i.id,
    namespace: i.namespace,
    goal: i.goal,
    payload: i.payload,
    claim_attempts: i.claimAttempts,
    max_attempts: i.maxAttempts,
    priority: i.priority,
    target_worker: i.targetWorker,
    required_capability: i.requiredCapability,
    claim_token: i.claimToken,
    claim_timeout: leaseSeconds,
    lease_expires_at: i.leaseExpiresAt / 1000,
  };
}

/**
 * Registers the claim and lease routes.
 *
 * @param app The app.
 * @param s The services.
 * @param auth The API-key middleware.
 */
export function claimRoutes(
  app: Hono<AppEnv>,
  s: Services,
  auth: MiddlewareHandler<AppEnv>,
): void {
  const ext = s.config.extensions;
  app.post("/claim", auth, async (c) => {
    const who = c.get("who");
    const q = c.req.query();
    if (q.goal === undefined) throw new ValidationError("Missing goal");
    // Extensions off: the original server ignored these parameters.
    const lease = ext
      ? numberField(q, "lease", {
        min: LIMITS.leaseMin,
        max: LIMITS.leaseMax,
        fallback: LIMITS.leaseDefault,
        integer: true,
      })
      : LIMITS.leaseDefault;
    const max = ext
      ? numberField(q, "max", {
        min: 1,
        max: LIMITS.batchClaimMax,
        fallback: 1,
        integer: true,
      })
      : 1;
    const wait = ext
      ? numberField(q, "wait", { min: 0, max: LIMITS.waitMax, fallback: 0 })
      : 0;
    const namespace = namespaceValue(q.namespace);
    const goal = goalValue(q.goal);
    const params = {
      namespace,
      goal,
      caller: who.hash,
      master: who.master,
      publisher: await publisherFilter(q.publisher, who),
      ...workerIdentity(c.req.raw.headers, q),
      leaseMs: lease * 1000,
      max,
    };
    let claimed = await s.store.intentClaim({ ...params, now: s.clock.now() });
    // Without `wait`, an empty claim is still held briefly (`emptyHoldMs`):
    // invisible on the wire, but a worker polling in a tight loop then parks
    // here instead of costing a query per loop and crowding out publishers.
    const holdMs = wait > 0 ? wait * 1000 : s.config.emptyHoldMs;
    if (claimed.length === 0 && holdMs > 0) {
      // Long poll: re-try on a publish to this goal, and every `recheckMs`
      // for intents that become due without an event.
      const deadline = performance.now() + holdMs;
      const key = goalKey(namespace, goal);
      // A claim for a client that went away would lease an intent to
      // nobody. Asking Deno for `req.signal` makes it build a DOMException
      // when the request ends, so only claims held here ask (3.6% of the
      // server's CPU on Heavy when every claim asked).
      const gone = c.req.raw.signal;
      if (s.log.debugEnabled) s.log.debug("long poll waiting", { goal, wait });
      while (claimed.length === 0 && !s.waiters.closed && !gone.aborted) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        const notice = await s.waiters.wait(
          key,
          Math.min(left, s.config.recheckMs),
          gone,
        );
        if (gone.aborted) break;
        claimed = await s.store.intentClaim({ ...params, now: s.clock.now() });
        // Woken for an intent this caller may not take: the next may.
        if (claimed.length === 0 && notice > 0) s.waiters.passOn(key, notice);
      }
    }
    if (claimed.length === 0) {
      return c.body(null, 204, { "Retry-After": "1" });
    }
    if (!ext || q.max === undefined) {
      return c.json(claimView(claimed[0], lease));
    }
    return c.json({ intents: claimed.map((i) => claimView(i, lease)) });
  });

  if (ext) releaseRoute(app, s, auth);
  leaseRoutes(app, s, auth);
}

function releaseRoute(
  app: Hono<AppEnv>,
  s: Services,
  auth: MiddlewareHandler<AppEnv>,
): void {
  app.post("/release/:id", auth, async (c) => {
    const id = idParam(c);
    const intent = await s.store.intentRelease({
      id,
      token: tokenField(jsonBody(c)),
      caller: c.get("who").hash,
      now: s.clock.now(),
    });
    s.waiters.notify(goalKey(intent.namespace, intent.goal));
    return c.json({ ok: true, id, status: intent.state });
  });
}

function leaseRoutes(
  app: Hono<AppEnv>,
  s: Services,
  auth: MiddlewareHandler<AppEnv>,
): void {
  app.post("/extend_claim/:id", auth, async (c) => {
    const id = idParam(c);
    const body = jsonBody(c);
    const secs = numberField(body, "seconds", {
      min: LIMITS.leaseMin,
      max: LIMITS.leaseMax,
      fallback: LIMITS.leaseDefault,
      integer: true,
    });
    const intent = await s.store.leaseExtend({
      id,
      token: tokenField(body),
      caller: c.get("who").hash,
      leaseMs: secs * 1000,
      now: s.clock.now(),
    });
    return c.json({
      ok: true,
      id,
      extended_by: secs,
      lease_expires_at: (intent.leaseExpiresAt ?? 0) / 1000,
    });
  });

  app.post("/fulfill/:id", auth, async (c) => {
    const id = idParam(c);
    const body = jsonBody(c);
    const { result, resultType } = validateFulfil(body);
    await s.store.intentFulfil({
      id,
      token: tokenField(body),
      caller: c.get("who").hash,
      result,
      resultType,
      now: s.clock.now(),
    });
    return c.json({ ok: true, id });
  });

  app.post("/fail/:id", auth, async (c) => {
    const id = idParam(c);
    const body = jsonBody(c);
    const intent = await s.store.intentFail({
      id,
      token: tokenField(body),
      caller: c.get("who").hash,
      error: errorField(body),
      jitter: s.random(),
      now: s.clock.now(),
    });
    return c.json({
      ok: true,
      id,
      status: intent.state,
      ...(intent.state === "open" ? { run_at: intent.runAt / 1000 } : {}),
    });
  });
}

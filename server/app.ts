/**
 * The Intent Bus HTTP app: a Hono app built from its dependencies, with no
 * module-level state and no listener (see `runtime/deno.ts`). Test it with
 * `app.request()`.
 *
 * @example
 * ```ts
 * import { createApp } from "./app.ts";
 * import { DEFAULT_CONFIG } from "./config.ts";
 * import { ManualClock } from "../core/clock.ts";
 * import { openSqliteStore } from "../storage/sqlite/mod.ts";
 *
 * const store = await openSqliteStore({ path: ":memory:" });
 * const app = createApp({
 *   store,
 *   clock: new ManualClock(),
 *   config: { ...DEFAULT_CONFIG, masterKey: "s3cret" },
 * });
 * const res = await app.request("/intent", {
 *   method: "POST",
 *   headers: { "X-API-KEY": "s3cret", "Content-Type": "application/json" },
 *   body: JSON.stringify({ goal: "resize", payload: { w: 10 } }),
 * });
 * console.log(res.status); // 201
 * await store.close();
 * ```
 *
 * @module
 */

import { Hono } from "hono";
import type { Clock } from "../core/clock.ts";
import type { Storage } from "../storage/storage.ts";
import { AdminGuard } from "./auth/admin.ts";
import { SignatureChecker } from "./auth/hmac.ts";
import { ApiKeys } from "./auth/keys.ts";
import { RateLimiter } from "./auth/rate_limit.ts";
import type { ServerConfig } from "./config.ts";
import {
  apiKeyAuth,
  type AppEnv,
  remoteAddress,
  type Services,
} from "./context.ts";
import { HttpError, jsonError, toHttp } from "./errors.ts";
import { type Logger, silentLogger } from "./log.ts";
import { Maintenance } from "./maintenance.ts";
import { RequestMetrics } from "./request_metrics.ts";
import { goalKey, Waiters } from "./waiters.ts";
import { batchRoutes } from "./routes/batch.ts";
import { adminRoutes } from "./routes/admin.ts";
import { adminQueueRoutes } from "./routes/admin_queue.ts";
import { claimRoutes } from "./routes/claims.ts";
import { healthRoutes } from "./routes/health.ts";
import { intentRoutes } from "./routes/intents.ts";
import { kvRoutes } from "./routes/kv.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { openApiRoutes } from "./routes/openapi.ts";

/** What {@linkcode createApp} needs. */
export interface AppDeps {
  /** The store every route reads and writes. */
  store: Storage;
  /** The source of `now` for leases, backoff and expiry. */
  clock: Clock;
  /** Keys, limits and features. */
  config: ServerConfig;
  /** Where request errors and events go; default silent. */
  log?: Logger;
  /** Jitter source in [0, 1); default `Math.random`. */
  random?: () => number;
  /** The maintenance service `/admin/cleanup` runs; one is made (not started) when omitted. */
  maintenance?: Maintenance;
  /** Aborted when the server starts shutting down: long polls answer at once. */
  signal?: AbortSignal;
}

/**
 * The app {@linkcode createApp} builds (a Hono app, typed by what callers
 * use, so the public API names no Hono type).
 */
export interface IntentBusApp {
  /** Serves one request; what `Deno.serve` and the Node adapter call. */
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
  /** Serves a request built from a path or URL, for tests and examples. */
  request(
    input: string | URL | Request,
    init?: RequestInit,
  ): Response | Promise<Response>;
  /** Every registered route. */
  readonly routes: readonly { method: string; path: string }[];
}

/** Headers on every response. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
  "X-Intent-Version": "2.1",
};

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

function isSecure(req: Request, env: unknown, trustProxy: boolean): boolean {
  if (req.url.startsWith("https:")) return true;
  if (trustProxy) {
    const proto = req.headers.get("x-forwarded-proto");
    // The last value is the one our proxy set: one that appends to the
    // header keeps what the client sent in front. A scheme is
    // case-insensitive (RFC 3986): some proxies send "HTTPS".
    if (proto !== null) {
      const last = proto.slice(proto.lastIndexOf(",") + 1);
      return last.trim().toLowerCase() === "https";
    }
  }
  return LOOPBACK.test(remoteAddress(env));
}

/**
 * Builds the app.
 *
 * @param deps Store, clock, configuration, and optional logger, jitter source,
 *   maintenance service and shutdown signal.
 * @returns The Hono app; `app.fetch` serves requests.
 */
export function createApp(deps: AppDeps): IntentBusApp {
  const { store, clock, config } = deps;
  const log = deps.log ?? silentLogger;
  const random = deps.random ?? Math.random;
  const s: Services = {
    store,
    clock,
    config,
    log,
    random,
    keys: new ApiKeys({ store, clock, masterKey: config.masterKey }),
    signatures: new SignatureChecker({
      store,
      clock,
      required: config.requireSignatures,
    }),
    limiter: new RateLimiter({ perMinute: config.rateLimitPerMinute, clock }),
    admin: new AdminGuard(config, clock),
    metrics: new RequestMetrics(),
    maintenance: deps.maintenance ??
      new Maintenance({
        store,
        clock,
        log,
        random,
        retentionMs: config.retentionMs,
      }),
    waiters: new Waiters(),
  };
  // Goals another server sharing the database made claimable (PostgreSQL).
  const unwatch = store.watchGoals?.((namespace, goal) =>
    s.waiters.notify(goalKey(namespace, goal))
  );
  deps.signal?.addEventListener("abort", () => {
    unwatch?.();
    s.waiters.close();
  }, { once: true });
  const app = new Hono<AppEnv>();

  const answerError = (err: unknown, method: string, path: string) => {
    const a = toHttp(err);
    if (a.logged) log.error("request failed", { method, path, err });
    return jsonError(a.status, a.code, a.message, a.headers);
  };
  const gate = (req: Request, env: unknown, path: string): void => {
    if (config.enforceHttps && !isSecure(req, env, config.trustProxy)) {
      throw new HttpError(403, "https_required", "HTTPS is required");
    }
    if (
      config.maintenanceMode && req.method !== "GET" &&
      req.method !== "HEAD" && !path.startsWith("/admin/")
    ) {
      throw new HttpError(
        503,
        "maintenance",
        "Server in maintenance mode: writes are paused",
        { "Retry-After": "60" },
      );
    }
  };
  app.onError((err, c) => answerError(err, c.req.method, c.req.path));

  // One middleware for every request (each level of Hono's dispatch costs):
  // the HTTPS and maintenance gates, then headers, metrics and the log.
  app.use("*", async (c, next) => {
    const start = performance.now();
    const path = c.req.path;
    const method = c.req.method;
    try {
      if (path !== "/" && path !== "/health") gate(c.req.raw, c.env, path);
      await next();
    } catch (err) {
      // What Hono's onError would answer, so headers and metrics see it.
      c.res = answerError(err, method, path);
    }
    const res = c.res;
    const h = res.headers;
    for (const name in SECURITY_HEADERS) h.set(name, SECURITY_HEADERS[name]);
    const ms = performance.now() - start;
    s.metrics.observe(path, method, res.status, ms);
    if (log.debugEnabled) {
      log.debug("request", {
        method,
        path,
        status: res.status,
        ms: Math.round(ms * 100) / 100,
      });
    }
  });

  const auth = apiKeyAuth(s);
  healthRoutes(app, s);
  intentRoutes(app, s, auth);
  claimRoutes(app, s, auth);
  if (config.extensions) batchRoutes(app, s, auth);
  kvRoutes(app, s, auth);
  metricsRoutes(app, s);
  adminRoutes(app, s);
  if (config.extensions) adminQueueRoutes(app, s);
  openApiRoutes(app, s);

  // A known path with the wrong method is 405, not 404. Decided when no
  // route matched rather than by an `app.all` per path: those made Hono's
  // RegExpRouter give up (`/admin/dead/:id` beside `/admin/dead/redrive`)
  // for the slower TrieRouter, on every request.
  const methods = new Map<string, Set<string>>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    if (!methods.has(r.path)) methods.set(r.path, new Set());
    methods.get(r.path)!.add(r.method);
  }
  const known = [...methods].map(([path, allowed]) => ({
    re: new RegExp(
      `^${
        path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(
          /:[^/]+/g,
          "[^/]+",
        )
      }$`,
    ),
    allowed,
  }));
  app.notFound((c) => {
    // Every method the path's routes take (`/admin/dead/redrive` is also
    // `/admin/dead/:id`), as RFC 9110 asks of a 405.
    const allowed = new Set<string>();
    for (const k of known) {
      if (k.re.test(c.req.path)) { for (const m of k.allowed) allowed.add(m); }
    }
    if (allowed.has("GET")) allowed.add("HEAD");
    return allowed.size > 0
      ? jsonError(405, "method_not_allowed", "Method not allowed", {
        Allow: [...allowed].sort().join(", "),
      })
      : jsonError(404, "not_found", "No such route");
  });
  return app;
}

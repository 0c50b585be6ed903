/**
 * `GET /` (a small index) and `GET /health` (liveness, plus the `features`
 * this server adds to the protocol, unless extensions are off), both open to
 * anyone.
 *
 * @module
 */

import type { Hono } from "hono";
import type { AppEnv, Services } from "../context.ts";

/**
 * Additions over the original protocol that clients may use; old clients
 * ignore the field.
 */
export const FEATURES: readonly string[] = [
  "batch_publish",
  "batch_claim",
  "batch_ack",
  "longpoll",
  "release",
];

/**
 * Registers the open routes.
 *
 * @param app The app.
 * @param s The services.
 */
export function healthRoutes(app: Hono<AppEnv>, s: Services): void {
  app.get("/", (c) =>
    c.json({
      name: "Intent Bus",
      version: s.config.version,
      protocol: "2.1",
      health: "/health",
    }));
  const features = s.config.extensions ? { features: FEATURES } : {};
  app.get("/health", (c) =>
    c.json({
      ok: true,
      ts: s.clock.now() / 1000,
      version: s.config.version,
      ...features,
    }));
}

/**
 * `GET /metrics`: Prometheus text, for `Authorization: Bearer
 * <BUS_METRICS_TOKEN>` or an admin credential. Queue gauges come from
 * `store.statsGet`, the store's own (WAL, connection pool) from
 * `store.metricsGet`; request counters and latency from the app.
 *
 * @module
 */

import type { Hono } from "hono";
import { timingSafeEqual } from "../../core/signing.ts";

import { type AppEnv, remoteAddress, type Services } from "../context.ts";
import { AuthError } from "../../core/errors.ts";
import { GOALS_LISTED, topGoals } from "./_top_goals.ts";

function label(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll(
    "\n",
    "\\n",
  );
}

/**
 * Registers `/metrics`.
 *
 * @param app The app.
 * @param s The services.
 */
export function metricsRoutes(app: Hono<AppEnv>, s: Services): void {
  app.get("/metrics", async (c) => {
    const auth = c.req.raw.headers.get("authorization") ?? "";
    const bearer = /^bearer /i.test(auth) ? auth.slice(7).trim() : null;
    const ok = (bearer !== null && s.config.metricsToken !== "" &&
      timingSafeEqual(bearer, s.config.metricsToken)) ||
      s.admin.check(c.req.raw.headers, remoteAddress(c.env));
    if (!ok) {
      throw new AuthError("Metrics access denied");
    }
    const stats = await s.store.statsGet({ now: s.clock.now() });
    const lines = [
      "# HELP intent_bus_intents Intents by state.",
      "# TYPE intent_bus_intents gauge",
    ];
    for (const [state, n] of Object.entries(stats.states)) {
      lines.push(`intent_bus_intents{state="${state}"} ${n}`);
    }
    const { listed, unlisted } = topGoals(stats.goals);
    lines.push(
      `# HELP intent_bus_goal_intents Intents per namespace and goal by state, for the ${GOALS_LISTED} goals holding the most.`,
      "# TYPE intent_bus_goal_intents gauge",
    );
    for (const g of listed) {
      const l = `namespace="${label(g.namespace)}",goal="${label(g.goal)}"`;
      for (const state of ["open", "delayed", "claimed", "dead"] as const) {
        lines.push(
          `intent_bus_goal_intents{${l},state="${state}"} ${g[state]}`,
        );
      }
    }
    lines.push(
      "# HELP intent_bus_goals_unlisted Goals left out of intent_bus_goal_intents.",
      "# TYPE intent_bus_goals_unlisted gauge",
      `intent_bus_goals_unlisted ${unlisted}`,
    );
    for (const m of s.store.metricsGet()) {
      lines.push(
        `# HELP intent_bus_${m.name} ${m.help}`,
        `# TYPE intent_bus_${m.name} ${m.type}`,
        `intent_bus_${m.name} ${m.value}`,
      );
    }
    const text = lines.join("\n") + "\n" + s.metrics.render();
    return c.text(text, 200, {
      "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });
}

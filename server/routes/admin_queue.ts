/**
 * Admin queue controls, additions over the original protocol (behind the
 * admin credential checked in `admin.ts`):
 *
 * - `POST /admin/dead/redrive` `{"namespace"?,"goal"?,"ids"?,"limit"?}` →
 *   `{"ok":true,"redriven":n,"ids":[...]}`: dead intents back to open with
 *   their attempts reset (at most `limit`, default 100, up to 1000).
 * - `POST /admin/pause` `{"goal","namespace"?}` and `POST /admin/resume`:
 *   stop and restart claims of one goal; publishing continues.
 *
 * @module
 */

import type { Hono } from "hono";
import { ValidationError } from "../../core/errors.ts";
import { ID_PATTERN } from "../../core/limits.ts";
import { type AppEnv, readJsonBody, type Services } from "../context.ts";
import { goalValue, namespaceValue, numberField } from "../validate.ts";
import { goalKey } from "../waiters.ts";

function ids(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw) || raw.length > 1000) {
    throw new ValidationError("Invalid ids: an array of up to 1000 intent ids");
  }
  const bad = raw.find((x) => typeof x !== "string" || !ID_PATTERN.test(x));
  if (bad !== undefined) {
    throw new ValidationError(
      `Invalid ids: ${JSON.stringify(bad).slice(0, 80)} is not an intent id`,
    );
  }
  return raw;
}

/**
 * Registers redrive, pause and resume.
 *
 * @param app The app (its `/admin/*` guard already registered).
 * @param s The services.
 */
export function adminQueueRoutes(app: Hono<AppEnv>, s: Services): void {
  app.post("/admin/dead/redrive", async (c) => {
    const body = await readJsonBody(c, s);
    const redriven = await s.store.deadRedrive({
      namespace: body.namespace === undefined
        ? undefined
        : namespaceValue(body.namespace),
      goal: body.goal === undefined ? undefined : goalValue(body.goal),
      ids: ids(body.ids),
      limit: numberField(body, "limit", {
        min: 1,
        max: 1000,
        fallback: 100,
        integer: true,
      }),
      now: s.clock.now(),
    });
    for (const i of redriven) s.waiters.notify(goalKey(i.namespace, i.goal));
    return c.json({
      ok: true,
      redriven: redriven.length,
      ids: redriven.map((i) => i.id),
    });
  });

  app.post("/admin/pause", async (c) => {
    const body = await readJsonBody(c, s);
    const goal = goalValue(body.goal);
    const namespace = namespaceValue(body.namespace);
    await s.store.goalPause({ namespace, goal, now: s.clock.now() });
    return c.json({ ok: true, namespace, goal, paused: true });
  });

  app.post("/admin/resume", async (c) => {
    const body = await readJsonBody(c, s);
    const goal = goalValue(body.goal);
    const namespace = namespaceValue(body.namespace);
    await s.store.goalResume({ namespace, goal });
    s.waiters.notifyAll(goalKey(namespace, goal));
    return c.json({ ok: true, namespace, goal, paused: false });
  });
}

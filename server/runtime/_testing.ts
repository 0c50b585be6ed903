// Test helpers shared by both listeners' tests.

import assert from "node:assert/strict";
import { systemClock } from "../../core/clock.ts";
import { openSqliteStore } from "../../storage/sqlite/mod.ts";
import { createApp } from "../app.ts";
import { DEFAULT_CONFIG } from "../config.ts";
import type { FetchApp } from "./deno.ts";

/**
 * Runs `fn` with an app over a fresh SQLite file, master key `k`; closes the
 * store and removes the file after.
 *
 * @param fn The test.
 */
export async function withApp(
  fn: (app: ReturnType<typeof createApp>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const store = await openSqliteStore({ path: `${dir}/bus.db` });
  try {
    await fn(
      createApp({
        store,
        clock: systemClock,
        config: { ...DEFAULT_CONFIG, masterKey: "k" },
      }),
    );
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * `app` plus a route `/slow` that answers "done" only once `release()` is
 * called: a request in flight, to see what a shutdown does with it.
 *
 * @param app The app behind every other path.
 * @returns The app, a promise that `/slow` was entered, and its release.
 */
export function withSlowRoute(app: FetchApp): {
  app: FetchApp;
  inside: Promise<void>;
  release: () => void;
} {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let entered!: () => void;
  const inside = new Promise<void>((r) => entered = r);
  return {
    app: {
      fetch: async (req: Request, env?: unknown) => {
        if (new URL(req.url).pathname === "/slow") {
          entered();
          await gate;
          return new Response("done");
        }
        return app.fetch(req, env);
      },
    },
    inside,
    release,
  };
}

/**
 * A claim that waits, as a long poll or held empty (no `wait`, under 1 s),
 * must stop when its client goes away: the intent published afterwards
 * stays open for the next claim, instead of being claimed for nobody until
 * its lease runs out. Checks both against a server at `base` whose master
 * key is `k`.
 *
 * @param base The server's origin.
 */
export async function assertGoneClaimClaimsNothing(
  base: string,
): Promise<void> {
  await goneClaimClaimsNothing(base, "gone", "&wait=20");
  await goneClaimClaimsNothing(base, "gone_held", "");
}

async function goneClaimClaimsNothing(
  base: string,
  goal: string,
  wait: string,
): Promise<void> {
  const headers = { "X-API-KEY": "k" };
  const client = new AbortController();
  const polling = fetch(`${base}/claim?goal=${goal}${wait}`, {
    method: "POST",
    headers,
    signal: client.signal,
  }).catch((err) => err);
  // Let the claim find nothing and start waiting, then hang up.
  await new Promise((r) => setTimeout(r, 150));
  client.abort();
  assert.equal((await polling).name, "AbortError");
  // Time for the server to see the connection close (a held claim waits up
  // to 1 s, so all this stays well inside it), then one round trip more.
  await new Promise((r) => setTimeout(r, 500));
  await (await fetch(`${base}/health`)).body?.cancel();
  const published = await fetch(`${base}/intent`, {
    method: "POST",
    headers,
    body: JSON.stringify({ goal, payload: {} }),
  });
  assert.equal(published.status, 201);
  const { id } = await published.json();
  const claimed = await fetch(`${base}/claim?goal=${goal}`, {
    method: "POST",
    headers,
  });
  assert.equal(claimed.status, 200, `${goal}: the intent was still open`);
  const body = await claimed.json();
  assert.equal(body.id, id);
  assert.equal(body.claim_attempts, 1, "its first claim");
}

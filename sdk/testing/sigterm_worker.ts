/**
 * A worker process for the shutdown tests: claims up to `concurrency`
 * intents of a goal with handlers that never finish on their own, prints
 * `{"ready":n}` once n handlers run, and on SIGTERM stops like any worker
 * (grace period, then release), printing its stats before it exits.
 *
 * Usage: `deno run -A sdk/testing/sigterm_worker.ts URL KEY GOAL CONCURRENCY GRACE_MS`
 *
 * @module
 */

import { IntentClient } from "../client.ts";
import { Worker } from "../worker.ts";

const [url, apiKey, goal, concurrency, grace] = Deno.args;
const n = Number(concurrency);
const client = new IntentClient({ url, apiKey });
const worker = new Worker(client, {
  goal,
  concurrency: n,
  gracePeriodMs: Number(grace),
  leaseSeconds: 60,
  idleMinMs: 10,
  onError: (e) => console.error(String(e)),
  handler: () => {
    if (worker.running === n) console.log(JSON.stringify({ ready: n }));
    // Stubborn on purpose: ignores its abort signal.
    return new Promise(() => {});
  },
});
await worker.start();
console.log(JSON.stringify({ stopped: worker.stats }));

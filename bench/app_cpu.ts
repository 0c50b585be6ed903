/**
 * CPU per request of the three hot routes, in process: `app.fetch` on a
 * real store (a temporary WAL file, the checkpoint thread on), `--concurrency`
 * requests in flight, CPU from `process.cpuUsage()` (every thread of the
 * process). No sockets and no load generator share the cores, so two builds
 * compare within a few percent even on a busy machine, where loopback runs
 * vary by 10–20%. The figures include building each `Request` and reading
 * each answer (about 10 µs).
 *
 * With `--issued`, intents are published with an issued key instead of the
 * master key, so each publish also pays the key's open-intent quota (at most
 * 2,000 open and claimed, checked per publish) and the rate limit is off;
 * the intents then go through in rounds of 1,000, to stay under the quota.
 *
 * Usage: `deno run -A bench/app_cpu.ts [--intents 20000] [--concurrency 20]
 * [--issued]`
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { systemClock } from "../core/clock.ts";
import { createApp } from "../server/app.ts";
import type { FetchApp } from "../server/runtime/deno.ts";
import { DEFAULT_CONFIG } from "../server/config.ts";
import { openSqliteStore } from "../storage/sqlite/mod.ts";

/** Mean CPU µs per request of each route. */
export interface AppCpu {
  publish: number;
  claim: number;
  fulfil: number;
}

const BODY =
  '{"goal":"g","payload":{"n":1,"text":"hello"},"visibility":"public"}';

function headers(length: number, key = "k"): Record<string, string> {
  return {
    "X-API-KEY": key,
    "Content-Type": "application/json",
    "Content-Length": String(length),
  };
}

async function cpuPer(
  n: number,
  concurrency: number,
  one: () => Promise<void>,
): Promise<number> {
  let i = 0;
  const start = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (i++ < n) await one();
  }));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

async function expect(res: Response, status: number): Promise<string> {
  const text = await res.text();
  if (res.status !== status) {
    throw new Error(`Expected ${status}, got ${res.status}: ${text}`);
  }
  return text;
}

/**
 * Publishes `n` intents, then claims and fulfils them, each phase with
 * `concurrency` requests in flight, and returns the CPU µs per request of
 * each phase (every thread of the process).
 *
 * @param app The app (with master key `k`).
 * @param n Intents.
 * @param concurrency Requests in flight.
 * @param publisherKey API key of the publishes.
 * @returns CPU µs per request of each route.
 */
export async function lifecycles(
  app: FetchApp,
  n: number,
  concurrency: number,
  publisherKey: string,
): Promise<AppCpu> {
  const leases: { id: string; claim_token: string }[] = [];
  const publish = await cpuPer(n, concurrency, async () => {
    const req = new Request("http://bench/intent", {
      method: "POST",
      headers: headers(BODY.length, publisherKey),
      body: BODY,
    });
    await expect(await app.fetch(req), 201);
  });
  const claim = await cpuPer(n, concurrency, async () => {
    const req = new Request("http://bench/claim?goal=g", {
      method: "POST",
      headers: headers(0),
    });
    leases.push(JSON.parse(await expect(await app.fetch(req), 200)));
  });
  const fulfil = await cpuPer(n, concurrency, async () => {
    const lease = leases.pop()!;
    const body = JSON.stringify({
      claim_token: lease.claim_token,
      result: { ok: true },
    });
    const req = new Request(`http://bench/fulfill/${lease.id}`, {
      method: "POST",
      headers: headers(body.length),
      body,
    });
    await expect(await app.fetch(req), 200);
  });
  return { publish, claim, fulfil };
}

/** Issues a key through `/admin/generate_key`. */
async function issueKey(app: FetchApp): Promise<string> {
  const body = '{"owner":"bench"}';
  const res = await app.fetch(
    new Request("http://bench/admin/generate_key", {
      method: "POST",
      headers: { ...headers(body.length), "X-Admin-Token": "a" },
      body,
    }),
  );
  return JSON.parse(await expect(res, 201)).api_key;
}

/** Runs `n` lifecycles in rounds of at most `round`; µs are weighted means. */
async function rounds(
  app: FetchApp,
  n: number,
  round: number,
  concurrency: number,
  key: string,
): Promise<AppCpu> {
  const sum: AppCpu = { publish: 0, claim: 0, fulfil: 0 };
  for (let done = 0; done < n; done += round) {
    const m = Math.min(round, n - done);
    const r = await lifecycles(app, m, concurrency, key);
    sum.publish += r.publish * m;
    sum.claim += r.claim * m;
    sum.fulfil += r.fulfil * m;
  }
  return {
    publish: sum.publish / n,
    claim: sum.claim / n,
    fulfil: sum.fulfil / n,
  };
}

/**
 * Measures, after a warm-up of a quarter as many.
 *
 * @param n Intents to publish, claim and fulfil.
 * @param concurrency Requests in flight.
 * @param issued Publish with an issued key (quota checked) in rounds of
 * 1,000, instead of the master key in one round.
 * @returns CPU µs per request of each route.
 */
export async function appCpu(
  n: number,
  concurrency: number,
  issued = false,
): Promise<AppCpu> {
  const dir = await Deno.makeTempDir({ prefix: "bench_app_cpu_" });
  const store = await openSqliteStore({
    path: `${dir}/bus.db`,
    checkpoint: "thread",
  });
  try {
    const app = createApp({
      store,
      clock: systemClock,
      config: {
        ...DEFAULT_CONFIG,
        masterKey: "k",
        adminSecret: "a",
        rateLimitPerMinute: 0,
        emptyHoldMs: 0,
      },
    });
    const key = issued ? await issueKey(app) : "k";
    const round = issued ? 1000 : n;
    await rounds(app, Math.ceil(n / 4), round, concurrency, key);
    return await rounds(app, n, round, concurrency, key);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      intents: { type: "string", default: "20000" },
      concurrency: { type: "string", default: "20" },
      issued: { type: "boolean", default: false },
    },
  });
  const r = await appCpu(
    Number(values.intents),
    Number(values.concurrency),
    values.issued,
  );
  const f = (x: number) => x.toFixed(1);
  console.log(
    `CPU µs per request: publish ${f(r.publish)}, claim ${f(r.claim)}, ` +
      `fulfil ${f(r.fulfil)}; one lifecycle ${
        f(r.publish + r.claim + r.fulfil)
      }`,
  );
}

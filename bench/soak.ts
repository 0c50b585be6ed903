/**
 * A soak: one server of ours under steady load for many minutes, to see
 * whether its memory settles or keeps growing, and how the files grow. Each
 * round runs Heavy's loops (`runLoad`, 40 workers, 20 publishers) over
 * `--intents` intents of one of ten goals, while one more client sends the
 * traffic the profiles never do: an intent failed on its last attempt (a
 * dead letter), a KV write and read, a claim on a goal seen once, and a
 * status read, again and again. After each round it reads the server's
 * resident memory (`VmRSS`) and, on SQLite, the sizes of the database file
 * and its WAL.
 *
 * Usage: `deno run -A bench/soak.ts [--minutes 10] [--intents 20000]
 * [--mode single|batch|longpoll] [--postgres] [--out f.json]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { HttpConnection } from "./http_client.ts";
import { cleanRun, LOAD_MODES, type LoadMode, runLoad } from "./load.ts";
import { processUsage, spawnBusServer } from "./server_process.ts";
import { createDatabase, startCluster } from "../storage/postgres/_cluster.ts";

/** One round's figures. */
export interface SoakRound {
  round: number;
  /** Intents fulfilled by the load since the start, this round included. */
  intentsSoFar: number;
  intentsPerSec: number;
  /** The round kept every intent exactly once. */
  clean: boolean;
  /** Requests of the side client, and how many got a 5xx or no answer. */
  sideRequests: number;
  sideFailures: number;
  rssMiB: number;
  dbMiB: number;
  walMiB: number;
  /** CPU (user + system) per fulfilled intent of the server, all threads. */
  serverCpuUs: number;
  /** The same for this process, the load generator. */
  generatorCpuUs: number;
  /** Share of the machine's CPU time the hypervisor took (`steal`), %. */
  stealPct: number;
}

/** What {@linkcode soak} measured, and its verdict on memory. */
export interface SoakResult {
  store: "sqlite" | "postgres";
  mode: LoadMode;
  rounds: SoakRound[];
  /** Median RSS of the first and of the second half of the rounds. */
  rssFirstHalfMiB: number;
  rssSecondHalfMiB: number;
  /** Least-squares slope of RSS over the second half, MiB per million intents. */
  rssSlopeMiBPerMillion: number;
}

/** Total and stolen CPU ticks of the machine so far (`/proc/stat`). */
async function machineTicks(): Promise<{ total: number; steal: number }> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
}

async function sizeMiB(path: string): Promise<number> {
  return await Deno.stat(path).then((s) => s.size / 2 ** 20, () => 0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)];
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * The side client: dead letters, KV, claims on goals seen once, status
 * reads, until `done()`. Counts requests and failures (5xx, no answer).
 */
async function sideTraffic(url: string, key: string, done: () => boolean) {
  const http = new HttpConnection(url);
  const h = `X-API-KEY: ${key}\r\nContent-Type: application/json\r\n`;
  let requests = 0, failures = 0, n = 0;
  const call = async (method: string, path: string, body?: string) => {
    requests++;
    try {
      const res = await http.request(method, path, h, body);
      if (res.status >= 500) failures++;
      return res;
    } catch {
      failures++;
      return null;
    }
  };
  try {
    while (!done()) {
      n++;
      const pub = await call(
        "POST",
        "/intent",
        `{"goal":"soak.dead","payload":{"n":${n}},"max_attempts":1}`,
      );
      const claim = await call("POST", "/claim?goal=soak.dead");
      if (claim?.status === 200) {
        const { id, claim_token } = JSON.parse(claim.body);
        await call("POST", `/fail/${id}`, JSON.stringify({ claim_token }));
      }
      await call("POST", `/set/k${n % 1000}`, `{"value":{"n":${n}}}`);
      await call("GET", `/get/k${n % 1000}`);
      await call("POST", `/claim?goal=soak.once.${crypto.randomUUID()}`);
      if (pub?.status === 201) {
        await call("GET", `/status/${JSON.parse(pub.body).id}`);
      }
    }
  } finally {
    http.close();
  }
  return { requests, failures };
}

/**
 * Runs the soak against a server it spawns on a fresh database.
 *
 * @param o Minutes to run (whole rounds), intents per round, load mode,
 *   PostgreSQL instead of SQLite, and a callback per round.
 * @returns Every round and the memory verdict.
 */
export async function soak(o: {
  minutes: number;
  intents: number;
  mode: LoadMode;
  postgres?: boolean;
  onRound?: (r: SoakRound) => void;
}): Promise<SoakResult> {
  const dir = await Deno.makeTempDir({ prefix: "bench_soak_" });
  const cluster = o.postgres ? startCluster({ durable: true }) : null;
  const pg = cluster ? await createDatabase(cluster.url) : null;
  const path = `${dir}/bus.db`;
  const rounds: SoakRound[] = [];
  try {
    const server = await spawnBusServer(pg?.url ?? path);
    try {
      const end = performance.now() + o.minutes * 60_000;
      let total = 0;
      for (let round = 1; round === 1 || performance.now() < end; round++) {
        let finished = false;
        const side = sideTraffic(server.url, server.key, () => finished);
        const [srv0, gen0, m0] = await Promise.all([
          processUsage(server.pid),
          processUsage(Deno.pid),
          machineTicks(),
        ]);
        const r = await runLoad({
          url: server.url,
          key: server.key,
          goal: `soak.${round % 10}`,
          intents: o.intents,
          workers: 40,
          publishers: 20,
          mode: o.mode,
          timeoutMs: 300_000,
        }).finally(() => finished = true);
        const s = await side;
        const [srv1, gen1, m1] = await Promise.all([
          processUsage(server.pid),
          processUsage(Deno.pid),
          machineTicks(),
        ]);
        const perIntent = (a: number, b: number) =>
          Math.round((b - a) * 1e6 / Math.max(1, r.fulfilled));
        total += r.fulfilled;
        const row: SoakRound = {
          round,
          intentsSoFar: total,
          intentsPerSec: r.intentsPerSec,
          clean: cleanRun(r),
          sideRequests: s.requests,
          sideFailures: s.failures,
          rssMiB: srv1.rssMiB,
          dbMiB: pg ? 0 : await sizeMiB(path),
          walMiB: pg ? 0 : await sizeMiB(`${path}-wal`),
          serverCpuUs: perIntent(srv0.cpuSeconds, srv1.cpuSeconds),
          generatorCpuUs: perIntent(gen0.cpuSeconds, gen1.cpuSeconds),
          stealPct: 100 * (m1.steal - m0.steal) /
            Math.max(1, m1.total - m0.total),
        };
        rounds.push(row);
        o.onRound?.(row);
      }
    } finally {
      await server.stop();
    }
  } finally {
    await pg?.drop();
    cluster?.stop();
    await Deno.remove(dir, { recursive: true });
  }
  const half = rounds.slice(Math.floor(rounds.length / 2));
  return {
    store: o.postgres ? "postgres" : "sqlite",
    mode: o.mode,
    rounds,
    rssFirstHalfMiB: median(
      rounds.slice(0, Math.floor(rounds.length / 2)).map((r) => r.rssMiB),
    ),
    rssSecondHalfMiB: median(half.map((r) => r.rssMiB)),
    rssSlopeMiBPerMillion: slope(
      half.map((r) => r.intentsSoFar / 1e6),
      half.map((r) => r.rssMiB),
    ),
  };
}

if (import.meta.main) {
  const { values: f } = parseArgs({
    args: Deno.args,
    options: {
      minutes: { type: "string", default: "10" },
      intents: { type: "string", default: "20000" },
      mode: { type: "string", default: "single" },
      postgres: { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  const mode = f.mode as LoadMode;
  if (!LOAD_MODES.includes(mode)) throw new RangeError(`Invalid --mode`);
  const fmt = (x: number) => x.toFixed(1).padStart(8);
  console.log(
    "round  intents so far  intents/s  clean  side req  side 5xx  RSS MiB  DB MiB  WAL MiB  srv CPU µs  gen CPU µs  steal %",
  );
  const result = await soak({
    minutes: Number(f.minutes),
    intents: Number(f.intents),
    mode,
    postgres: f.postgres,
    onRound: (r) =>
      console.log(
        `${String(r.round).padStart(5)}  ${
          String(r.intentsSoFar).padStart(14)
        }  ${String(Math.round(r.intentsPerSec)).padStart(9)}  ${
          r.clean ? "  yes" : "   NO"
        }  ${String(r.sideRequests).padStart(8)}  ${
          String(r.sideFailures).padStart(8)
        } ${fmt(r.rssMiB)} ${fmt(r.dbMiB)} ${fmt(r.walMiB)}  ${
          String(r.serverCpuUs).padStart(10)
        }  ${String(r.generatorCpuUs).padStart(10)} ${fmt(r.stealPct)}`,
      ),
  });
  console.log(
    `RSS median ${result.rssFirstHalfMiB.toFixed(1)} MiB in the first half, ${
      result.rssSecondHalfMiB.toFixed(1)
    } MiB in the second; slope over the second half ${
      result.rssSlopeMiBPerMillion.toFixed(2)
    } MiB per million intents`,
  );
  if (f.out) {
    await Deno.writeTextFile(f.out, JSON.stringify(result, null, 2) + "\n");
  }
}

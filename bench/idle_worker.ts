/**
 * How many requests an idle worker sends, extrapolated to an hour (issue 4:
 * at most 120 with long-poll, against 3,600 for the original Python SDK,
 * which sleeps a second after every empty poll). Each mode runs for
 * `--seconds` against our server, spawned on a fresh database, with a goal
 * nobody publishes to, and records every request the client sends. The
 * hourly rate is the steady one: 3,600 s over the mean time between two
 * claims, plus the requests made once at start (the worker's `/health`).
 * Scaling the count of a short run up to an hour would count the start
 * and a window's edge many times over.
 *
 * - `longpoll`: an SDK `Worker` with its defaults against our server;
 * - `fallback`: the same `Worker` against our server started with
 *   `--no-extensions`, which answers like the original server, so the
 *   worker polls with its adaptive idle backoff;
 * - `original`: the original SDK's loop, `POST /claim` then a 1 s sleep.
 *
 * Usage: `deno run -A bench/idle_worker.ts [--seconds 95] [--out f.json]`
 * (95 s covers three 30 s long-polls; `--out` also writes the results as
 * JSON, which `bench/targets.ts` reads).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { IntentClient, Worker } from "../sdk/mod.ts";
import { sleep } from "../sdk/_abort.ts";
import { type ServerProcess, withBusServer } from "./server_process.ts";
import { runMain } from "./_cli.ts";

/** The three ways of waiting for work. */
export const IDLE_MODES = ["longpoll", "fallback", "original"] as const;
/** One of {@linkcode IDLE_MODES}. */
export type IdleMode = typeof IDLE_MODES[number];

/** Requests sent in a run, and the steady rate per hour. */
export interface IdleResult {
  mode: IdleMode;
  seconds: number;
  /** Every request sent in the run. */
  requests: number;
  /** `POST /claim` requests among them. */
  claims: number;
  /** Mean seconds between two claims; null with fewer than two. */
  claimInterval: number | null;
  /** Requests in an hour: the others once, claims at the steady interval. */
  perHour: number;
}

/**
 * The steady hourly rate from request times.
 *
 * @param sent Each request's path and time, in ms.
 * @returns Claims, their mean interval in s, and requests per hour.
 */
export function hourlyRate(
  sent: { path: string; at: number }[],
): Pick<IdleResult, "claims" | "claimInterval" | "perHour"> {
  const claims = sent.filter((r) => r.path === "/claim").map((r) => r.at);
  const others = sent.length - claims.length;
  if (claims.length < 2) {
    return { claims: claims.length, claimInterval: null, perHour: NaN };
  }
  const interval = (claims[claims.length - 1] - claims[0]) /
    (claims.length - 1) / 1000;
  return {
    claims: claims.length,
    claimInterval: interval,
    perHour: others + 3600 / interval,
  };
}

/** Stays idle on a goal nobody publishes to, recording each request. */
async function idle(
  server: ServerProcess,
  mode: IdleMode,
  seconds: number,
  sent: { path: string; at: number }[],
): Promise<void> {
  const client = new IntentClient({
    url: server.url,
    apiKey: server.key,
    fetch: (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      sent.push({ path: new URL(url).pathname, at: performance.now() });
      return fetch(input, init);
    },
  });
  const goal = `bench.idle.${crypto.randomUUID().slice(0, 8)}`;
  if (mode === "original") {
    const stop = AbortSignal.timeout(seconds * 1000);
    while (!stop.aborted) {
      if (await client.claim(goal, { signal: stop }).catch(() => null)) {
        throw new Error("An intent appeared in the idle goal");
      }
      await sleep(1000, stop).catch(() => {});
    }
    return;
  }
  const worker = new Worker(client, {
    goal,
    signals: false,
    handler: () => {
      throw new Error("An intent appeared in the idle goal");
    },
    onError: () => {},
  });
  const running = worker.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await worker.stop();
  await running;
}

/**
 * Runs one mode against a freshly spawned server.
 *
 * @param mode See the module doc.
 * @param seconds How long the worker stays idle.
 * @returns What it sent.
 */
export async function measureIdle(
  mode: IdleMode,
  seconds: number,
): Promise<IdleResult> {
  const sent: { path: string; at: number }[] = [];
  await withBusServer(
    (server) => idle(server, mode, seconds, sent),
    [],
    {},
    mode === "fallback" ? ["--no-extensions"] : [],
  );
  return { mode, seconds, requests: sent.length, ...hourlyRate(sent) };
}

/**
 * The shortest run that times two claims of the long-poll worker, the
 * fewest its rate per hour needs: its second claim goes out about 31 s in
 * (a 30 s hold, then `Retry-After: 1`).
 */
export const MIN_SECONDS = 35;

const HELP =
  `Requests an hour of an idle worker, in three modes, each against our
server spawned on a fresh database:
  longpoll   an SDK Worker with its defaults
  fallback   the same Worker against a server with --no-extensions, which
             answers like the original server
  original   the original SDK's loop, POST /claim then a 1 s sleep

Usage: deno run -A bench/idle_worker.ts [flags]

  --seconds <s>    how long each mode stays idle (default 95, three 30 s
                   long-polls; at least ${MIN_SECONDS}, for two claims of the
                   long-poll worker to time)
  --out <file>     also write the results as JSON (bench/targets.ts reads it)
  --help           this text`;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string", default: "95" },
      out: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const seconds = Number(values.seconds);
  if (!(seconds >= MIN_SECONDS) || !Number.isFinite(seconds)) {
    throw new RangeError(
      `Invalid --seconds: "${values.seconds}" (at least ${MIN_SECONDS}, for two claims of the long-poll worker)`,
    );
  }
  console.log("mode      requests  claims  seconds  claim every s  per hour");
  const results: IdleResult[] = [];
  for (const mode of IDLE_MODES) {
    const r = await measureIdle(mode, seconds);
    results.push(r);
    const pad = (v: unknown, n: number) => String(v).padStart(n);
    console.log(
      `${mode.padEnd(8)}  ${pad(r.requests, 8)}  ${pad(r.claims, 6)}  ${
        pad(r.seconds, 7)
      }  ${pad(r.claimInterval?.toFixed(2) ?? "-", 13)}  ${
        pad(Number.isNaN(r.perHour) ? "-" : Math.round(r.perHour), 8)
      }`,
    );
  }
  if (values.out) {
    await Deno.writeTextFile(
      values.out,
      JSON.stringify(results, null, 2) + "\n",
    );
  }
  return 0;
}

if (import.meta.main) await runMain(main);

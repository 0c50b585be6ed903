/**
 * The load loop of a profile: publishers publish intents while workers
 * claim then fulfil them, every call timed, every id tracked so that each
 * published intent is checked to be fulfilled exactly once.
 *
 * @module
 */

import { BusConnection, type BusTarget } from "./bus_client.ts";
import { type LoopContext, publisher, worker } from "./load_loops.ts";
import { Tally } from "./load_tally.ts";
import { Counters, Histogram, type LatencySummary } from "./stats.ts";

/** What to run. */
export interface LoadOptions extends BusTarget {
  /** Goal to publish and claim; make it unique per run. */
  goal: string;
  /** Namespace; `default` when omitted. */
  namespace?: string;
  /** Intents to publish. */
  intents: number;
  /** Concurrent claiming workers, one connection each. */
  workers: number;
  /** Concurrent publishers, one connection each; 5 by default. */
  publishers?: number;
  /** Idle sleep of a worker after an empty claim, ms; 0 polls at once. */
  pollMs?: number;
  /** Long-poll: claim with `?wait=<s>` (our server's addition); 0 for none. */
  waitS?: number;
  /**
   * `single` (default): one intent per request. `batch`: publishers send
   * `POST /intents` of `batchSize`, workers claim with `?max=claimMax` and
   * acknowledge with one `POST /ack`. `longpoll`: `batch` with `?wait=`
   * (`waitS`, 5 s when not given).
   */
  mode?: LoadMode;
  /** Intents per `POST /intents` in batch modes; 100 by default. */
  batchSize?: number;
  /** `max` of each claim in batch modes; 50 by default. */
  claimMax?: number;
  /** Give up after this long, ms; unfinished intents count as lost. */
  timeoutMs?: number;
  /** Called about every 200 ms with fulfilled and total counts. */
  onProgress?: (done: number, total: number) => void;
}

/** How intents travel: one per request, or in batches (see `LoadOptions`). */
export type LoadMode = "single" | "batch" | "longpoll";

/** The load modes, for flag checking. */
export const LOAD_MODES: readonly LoadMode[] = ["single", "batch", "longpoll"];

/** Everything one run measured. Latencies are in milliseconds. */
export interface LoadResult {
  /** The load mode; claim and publish latencies are per request. */
  mode: LoadMode;
  intents: number;
  workers: number;
  publishers: number;
  elapsedMs: number;
  /** Fulfilled intents per second over the whole run. */
  intentsPerSec: number;
  /** HTTP requests per second over the whole run, empty polls included. */
  requestsPerSec: number;
  publish: LatencySummary;
  /** Successful (200) claims only; empty polls are in `emptyPoll`. */
  claim: LatencySummary;
  fulfil: LatencySummary;
  /** Empty claims (204). */
  emptyPoll: LatencySummary;
  /** From sending the publish to receiving the fulfil answer. */
  endToEnd: LatencySummary;
  /** Fulfilled exactly once ÷ intents, in percent. */
  successRate: number;
  published: number;
  fulfilled: number;
  emptyPolls: number;
  duplicateDeliveries: number;
  duplicateFulfils: number;
  lost: number;
  leasesLost: number;
  timedOut: boolean;
  /** Errors by kind, such as `claim:503:database_busy`. */
  errors: Record<string, number>;
}

/**
 * Whether a run kept every intent exactly once: none lost, none delivered or
 * fulfilled twice, every one fulfilled.
 *
 * @param r A run's counters.
 * @returns True when clean.
 */
export function cleanRun(
  r: Pick<
    LoadResult,
    "lost" | "duplicateDeliveries" | "duplicateFulfils" | "successRate"
  >,
): boolean {
  return r.lost === 0 && r.duplicateDeliveries === 0 &&
    r.duplicateFulfils === 0 && r.successRate === 100;
}

/**
 * Runs one load: `publishers` publish `intents` intents between them while
 * `workers` claim and fulfil until every published intent is fulfilled or
 * the timeout passes.
 *
 * @param o See {@linkcode LoadOptions}.
 * @returns The measurements and correctness counters.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const publishers = Math.max(1, Math.min(o.publishers ?? 5, o.intents));
  const timeoutMs = o.timeoutMs ?? 120_000;
  const namespace = o.namespace ?? "default";
  const mode = o.mode ?? "single";
  const batched = mode !== "single";
  const claimMax = Math.max(1, o.claimMax ?? 50);
  const waitS = mode === "longpoll" ? (o.waitS || 5) : (o.waitS ?? 0);
  const h = {
    publish: new Histogram(),
    claim: new Histogram(),
    fulfil: new Histogram(),
    empty: new Histogram(),
  };
  const errors = new Counters();
  const tally = new Tally();
  let requests = 0, publishing = publishers;
  const start = performance.now();
  const deadline = start + timeoutMs;
  let timedOut = false, allDone = false;
  const conns = new Set<BusConnection>();
  // At the deadline, closing every socket ends requests a stuck server
  // never answers.
  const killer = setTimeout(() => {
    timedOut = true;
    for (const c of conns) c.close();
  }, timeoutMs);
  const c: LoopContext = {
    goal: o.goal,
    namespace,
    intents: o.intents,
    publishers,
    pollMs: o.pollMs ?? 0,
    batchSize: Math.max(1, o.batchSize ?? 100),
    query: `goal=${encodeURIComponent(o.goal)}&namespace=${
      encodeURIComponent(namespace)
    }${waitS ? `&wait=${waitS}` : ""}${batched ? `&max=${claimMax}` : ""}`,
    deadline,
    tally,
    errors,
    h,
    open() {
      const conn = new BusConnection(o);
      conns.add(conn);
      return conn;
    },
    async timed(hist, call) {
      const t0 = performance.now();
      const out = await call();
      requests++;
      if (out.kind === "ok") hist.record(performance.now() - t0);
      else if (out.kind === "empty") h.empty.record(performance.now() - t0);
      else if (!timedOut && !allDone) errors.add(out.error);
      return out;
    },
    stopped: () => timedOut,
    finished() {
      if (performance.now() > deadline) timedOut = true;
      return timedOut || (publishing === 0 && tally.allFulfilled);
    },
    publisherDone() {
      publishing--;
      c.progressed();
    },
    progressed() {
      // Once every intent is fulfilled, workers held in a long poll are let
      // go by closing their sockets; what that breaks is not an error.
      if (allDone || !waitS || publishing > 0 || !tally.allFulfilled) return;
      allDone = true;
      for (const conn of conns) conn.close();
    },
  };

  const progress = o.onProgress &&
    setInterval(() => o.onProgress!(tally.oursDone, o.intents), 200);
  try {
    await Promise.all([
      ...Array.from({ length: publishers }, (_, p) => publisher(c, p, batched)),
      ...Array.from({ length: o.workers }, () => worker(c, batched)),
    ]);
  } finally {
    if (progress) clearInterval(progress);
    clearTimeout(killer);
  }
  o.onProgress?.(tally.oursDone, o.intents);

  const { fulfilled, e2e, last } = tally.ours(start);
  const elapsedMs = last - start;
  return {
    mode,
    intents: o.intents,
    workers: o.workers,
    publishers,
    elapsedMs,
    intentsPerSec: elapsedMs > 0 ? fulfilled / elapsedMs * 1000 : 0,
    requestsPerSec: requests / (performance.now() - start) * 1000,
    publish: h.publish.summary(),
    claim: h.claim.summary(),
    fulfil: h.fulfil.summary(),
    emptyPoll: h.empty.summary(),
    endToEnd: e2e.summary(),
    successRate: fulfilled / o.intents * 100,
    published: tally.sentAt.size,
    fulfilled,
    emptyPolls: tally.emptyPolls,
    duplicateDeliveries: tally.duplicateDeliveries,
    duplicateFulfils: tally.duplicateFulfils,
    lost: tally.sentAt.size - fulfilled,
    leasesLost: tally.leasesLost,
    timedOut,
    errors: errors.toJSON(),
  };
}

/**
 * The load loop of a profile: publishers publish intents while workers
 * claim then fulfil them, every call timed, every id tracked so that each
 * published intent is checked to be fulfilled exactly once.
 *
 * @module
 */

import { BusConnection, type BusTarget, type Outcome } from "./bus_client.ts";
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

/** The error code of a batch answer's item, or `missing`. */
function itemCode(r: Record<string, unknown> | undefined): string {
  const e = r?.error as { code?: unknown } | undefined;
  return typeof e?.code === "string" ? e.code : "missing";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  const pollMs = o.pollMs ?? 0;
  const timeoutMs = o.timeoutMs ?? 120_000;
  const namespace = o.namespace ?? "default";
  const mode = o.mode ?? "single";
  const batched = mode !== "single";
  const batchSize = Math.max(1, o.batchSize ?? 100);
  const claimMax = Math.max(1, o.claimMax ?? 50);
  const waitS = mode === "longpoll" ? (o.waitS || 5) : (o.waitS ?? 0);
  const query = `goal=${encodeURIComponent(o.goal)}&namespace=${
    encodeURIComponent(namespace)
  }${waitS ? `&wait=${waitS}` : ""}${batched ? `&max=${claimMax}` : ""}`;
  const h = {
    publish: new Histogram(),
    claim: new Histogram(),
    fulfil: new Histogram(),
    empty: new Histogram(),
  };
  const errors = new Counters();
  const sentAt = new Map<string, number>();
  const doneAt = new Map<string, number>();
  const claimed = new Set<string>();
  let emptyPolls = 0, duplicateDeliveries = 0, duplicateFulfils = 0;
  let leasesLost = 0, requests = 0, publishing = publishers, oursDone = 0;
  const start = performance.now();
  const deadline = start + timeoutMs;
  let timedOut = false;
  const conns = new Set<BusConnection>();
  const open = () => {
    const conn = new BusConnection(o);
    conns.add(conn);
    return conn;
  };
  // At the deadline, closing every socket ends requests a stuck server
  // never answers.
  const killer = setTimeout(() => {
    timedOut = true;
    for (const c of conns) c.close();
  }, timeoutMs);
  let allDone = false;
  const finished = () => {
    if (performance.now() > deadline) timedOut = true;
    return timedOut || (publishing === 0 && oursDone >= sentAt.size);
  };
  // Once every intent is fulfilled, workers held in a long poll are let go
  // by closing their sockets; what that breaks is not counted as an error.
  const checkDone = () => {
    if (allDone || !waitS || publishing > 0 || oursDone < sentAt.size) return;
    allDone = true;
    for (const c of conns) c.close();
  };
  const timed = async (hist: Histogram, call: () => Promise<Outcome>) => {
    const t0 = performance.now();
    const out = await call();
    requests++;
    if (out.kind === "ok") hist.record(performance.now() - t0);
    else if (out.kind === "empty") h.empty.record(performance.now() - t0);
    else if (!timedOut && !allDone) errors.add(out.error);
    return out;
  };

  const publisher = async (p: number) => {
    const conn = open();
    for (let i = p; i < o.intents && !timedOut; i += publishers) {
      const body = JSON.stringify({
        goal: o.goal,
        namespace,
        payload: { n: i },
        visibility: "public",
      });
      for (let attempt = 0; attempt < 5; attempt++) {
        const t0 = performance.now();
        const out = await timed(h.publish, () => conn.publish(body));
        if (out.kind === "ok" && typeof out.body.id === "string") {
          sentAt.set(out.body.id, t0);
          // The intent may have been fulfilled before this answer arrived.
          if (doneAt.has(out.body.id)) oursDone++;
          break;
        }
        if (out.kind === "ok") errors.add("publish:no_id");
        if (performance.now() > deadline) break;
      }
    }
    publishing--;
    conn.close();
    checkDone();
  };

  const worker = async () => {
    const conn = open();
    while (!finished()) {
      const out = await timed(h.claim, () => conn.claim(query));
      if (out.kind === "empty") {
        emptyPolls++;
        if (pollMs > 0) await sleep(pollMs);
        continue;
      }
      if (out.kind === "error") {
        // Back off on errors so a failing server is not spun against.
        await sleep(Math.max(pollMs, 1));
        continue;
      }
      const id = String(out.body.id);
      if (claimed.has(id)) duplicateDeliveries++;
      claimed.add(id);
      for (let attempt = 0; attempt < 5; attempt++) {
        const res = await timed(
          h.fulfil,
          () => conn.fulfil(id, String(out.body.claim_token)),
        );
        if (res.kind === "ok") {
          if (doneAt.has(id)) duplicateFulfils++;
          else {
            doneAt.set(id, performance.now());
            // Other intents of the goal (a backlog) are not counted as ours.
            if (sentAt.has(id)) oursDone++;
            checkDone();
          }
          break;
        }
        if (res.status === 404 || res.status === 409) {
          leasesLost++;
          break;
        }
        if (performance.now() > deadline) break;
      }
    }
    conn.close();
  };

  // Batch modes: the publisher sends `batchSize` intents per request and
  // retries only the items that failed (or the whole batch on a failed
  // request), up to 5 times each.
  const batchPublisher = async (p: number) => {
    const conn = open();
    const mine: number[] = [];
    for (let i = p; i < o.intents; i += publishers) mine.push(i);
    for (let b = 0; b < mine.length && !timedOut; b += batchSize) {
      let todo = mine.slice(b, b + batchSize);
      for (let attempt = 0; attempt < 5 && todo.length > 0; attempt++) {
        const body = JSON.stringify({
          intents: todo.map((n) => ({
            goal: o.goal,
            namespace,
            payload: { n },
            visibility: "public",
          })),
        });
        const t0 = performance.now();
        const out = await timed(h.publish, () => conn.publishMany(body));
        if (out.kind === "ok") {
          const results = out.body.results as Record<string, unknown>[];
          const again: number[] = [];
          todo.forEach((n, k) => {
            const r = results?.[k];
            if (r && typeof r.id === "string") {
              sentAt.set(r.id, t0);
              if (doneAt.has(r.id)) oursDone++;
            } else {
              errors.add(`publish:item:${itemCode(r)}`);
              again.push(n);
            }
          });
          todo = again;
        }
        if (performance.now() > deadline) break;
      }
    }
    publishing--;
    conn.close();
    checkDone();
  };

  // Batch modes: a worker claims up to `claimMax` at once, then acknowledges
  // them all in one `POST /ack`, retrying items that failed for another
  // reason than a lost lease.
  const batchWorker = async () => {
    const conn = open();
    while (!finished()) {
      const out = await timed(h.claim, () => conn.claim(query));
      if (out.kind === "empty") {
        emptyPolls++;
        if (pollMs > 0) await sleep(pollMs);
        continue;
      }
      if (out.kind === "error") {
        await sleep(Math.max(pollMs, 1));
        continue;
      }
      let todo = new Map<string, string>();
      for (const it of (out.body.intents ?? []) as Record<string, unknown>[]) {
        const id = String(it.id);
        if (claimed.has(id)) duplicateDeliveries++;
        claimed.add(id);
        todo.set(id, String(it.claim_token));
      }
      for (let attempt = 0; attempt < 5 && todo.size > 0; attempt++) {
        const acks = [...todo].map(([id, claim_token]) => ({
          id,
          claim_token,
          status: "fulfilled",
          result: { ok: true },
        }));
        const res = await timed(
          h.fulfil,
          () => conn.ack(JSON.stringify({ acks })),
        );
        if (res.kind !== "ok") {
          if (performance.now() > deadline) break;
          continue;
        }
        const again = new Map<string, string>();
        const results = res.body.results as Record<string, unknown>[];
        acks.forEach((a, k) => {
          const r = results?.[k];
          if (r?.ok === true) {
            if (doneAt.has(a.id)) duplicateFulfils++;
            else {
              doneAt.set(a.id, performance.now());
              if (sentAt.has(a.id)) oursDone++;
            }
            return;
          }
          const code = itemCode(r);
          if (code === "not_found" || code === "lease_lost") leasesLost++;
          else {
            errors.add(`ack:item:${code}`);
            again.set(a.id, a.claim_token);
          }
        });
        todo = again;
        checkDone();
        if (performance.now() > deadline) break;
      }
    }
    conn.close();
  };

  const progress = o.onProgress &&
    setInterval(() => o.onProgress!(oursDone, o.intents), 200);
  try {
    await Promise.all([
      ...Array.from(
        { length: publishers },
        (_, p) => batched ? batchPublisher(p) : publisher(p),
      ),
      ...Array.from(
        { length: o.workers },
        () => batched ? batchWorker() : worker(),
      ),
    ]);
  } finally {
    if (progress) clearInterval(progress);
    clearTimeout(killer);
  }
  o.onProgress?.(oursDone, o.intents);

  let last = start;
  const e2e = new Histogram();
  let fulfilled = 0;
  for (const [id, t] of doneAt) {
    const sent = sentAt.get(id);
    if (sent === undefined) continue; // not ours
    fulfilled++;
    e2e.record(t - sent);
    if (t > last) last = t;
  }
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
    published: sentAt.size,
    fulfilled,
    emptyPolls,
    duplicateDeliveries,
    duplicateFulfils,
    lost: sentAt.size - fulfilled,
    leasesLost,
    timedOut,
    errors: errors.toJSON(),
  };
}

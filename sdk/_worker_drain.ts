/**
 * A worker's shutdown once it stopped claiming: running handlers get the
 * grace period; then those still running are aborted and their intents
 * given back, within a few final seconds.
 *
 * @module
 */

import { IntentBusError } from "../core/errors.ts";
import { outlasts } from "./_abort.ts";
import type { Job } from "./_job.ts";
import type { IntentClient } from "./client.ts";
import type { LeasedIntent } from "./types.ts";
import type { WorkerStats } from "./worker_types.ts";

/**
 * After the grace period, how long the releases and the acknowledgements in
 * flight may take before the worker gives up on a server that does not
 * answer.
 */
const FINAL_MS = 5_000;

/**
 * Of those final seconds, how long an aborted handler has to end before its
 * intent is given back all the same (the process is about to exit): enough
 * for a command's SIGTERM, then SIGKILL 2 s later.
 */
const STOP_WAIT_MS = 2_500;

/** The parts of a worker its shutdown works on. */
export interface DrainState {
  /** The client to release with. */
  client: IntentClient;
  /** The jobs running, each removed once settled. */
  jobs: ReadonlyMap<string, Job>;
  /** Time running handlers get to finish, ms. */
  gracePeriodMs: number;
  /** Fires when the grace period ends, or at a second signal. */
  graceOver: AbortController;
  /** Fires after the final few seconds, or at a further signal: give up. */
  abandon: AbortController;
  /** The features the worker knows of now. */
  features(): Set<string>;
  /** Counts `released`. */
  stats: WorkerStats;
  /** Told of a release that failed. */
  onError(error: unknown, intent?: LeasedIntent): void;
}

/**
 * Waits for the running jobs for the grace period, then aborts and releases
 * those whose handlers still run, and waits for the others'
 * acknowledgements, giving the server at most {@linkcode FINAL_MS}.
 *
 * @param w The worker's parts.
 */
export async function drain(w: DrainState): Promise<void> {
  const graceOver = await outlasts(
    Promise.allSettled([...w.jobs.values()].map((j) => j.settled)),
    w.gracePeriodMs,
    w.graceOver.signal,
  );
  if (!graceOver) return;
  w.graceOver.abort();
  // A server that does not answer gets a few seconds, not the client's
  // four 30 s attempts per request.
  const timer = setTimeout(() =>
    w.abandon.abort(
      new IntentBusError(
        "timeout",
        `Worker stopped without an answer from the server after ${FINAL_MS} ms`,
      ),
    ), FINAL_MS);
  await Promise.allSettled(
    [...w.jobs.values()].map((job) =>
      job.handlerDone ? job.settled : release(w, job)
    ),
  );
  clearTimeout(timer);
}

/**
 * Aborts a handler that outlived the grace period and, once it has ended,
 * gives its intent back, so that no other worker starts it while it still
 * runs; the heartbeat keeps the lease meanwhile. One deaf to its signal
 * for 2.5 s is given back all the same, as the worker is about to exit.
 */
async function release(w: DrainState, job: Job): Promise<void> {
  if (job.gone) return;
  job.controller.abort(new DOMException("Worker stopped", "AbortError"));
  await outlasts(job.handlerOver, STOP_WAIT_MS, w.abandon.signal);
  job.stopHeartbeat();
  if (job.gone || w.abandon.signal.aborted) return;
  job.released = true;
  if (!w.features().has("release")) return;
  try {
    await w.client.release(job.intent.id, job.intent.claimToken, {
      signal: w.abandon.signal,
    });
    w.stats.released++;
  } catch (e) {
    w.onError(e, job.intent);
  }
}

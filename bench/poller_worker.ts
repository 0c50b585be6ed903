/**
 * A Web Worker that keeps `workers` connections polling `POST /claim` on one
 * goal until told to stop, on its own thread so its event loop does not slow
 * the publisher it runs beside. Messages in: a {@linkcode PollerStart}, then
 * `"stop"`; out: a {@linkcode PollerReport}.
 *
 * @module
 */

import { BusConnection } from "./bus_client.ts";

/** The first message: what to poll. */
export interface PollerStart {
  url: string;
  key: string;
  /** Query string of the claim, such as `goal=idle&namespace=default`. */
  query: string;
  workers: number;
  /** Sleep after an empty poll, ms; 0 polls at once. */
  pollMs: number;
}

/** The answer to `"stop"`. */
export interface PollerReport {
  polls: number;
  empty: number;
  claimed: number;
  errors: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The worker-side global, typed narrowly (the Deno lib types the main window). */
interface WorkerScope {
  onmessage: ((e: MessageEvent<PollerStart | "stop">) => void) | null;
  postMessage(message: unknown): void;
}
const scope = self as unknown as Partial<WorkerScope>;

if (typeof scope.postMessage === "function") {
  const worker = scope as WorkerScope;
  let stop = false;
  let running: Promise<unknown> | null = null;
  const report: PollerReport = { polls: 0, empty: 0, claimed: 0, errors: 0 };
  worker.onmessage = async (e) => {
    if (e.data === "stop") {
      stop = true;
      await running;
      worker.postMessage(report);
      return;
    }
    const o = e.data;
    running = Promise.all(Array.from({ length: o.workers }, async () => {
      const conn = new BusConnection(o);
      while (!stop) {
        const out = await conn.claim(o.query);
        report.polls++;
        if (out.kind === "empty") report.empty++;
        else if (out.kind === "ok") report.claimed++;
        else report.errors++;
        if (out.kind !== "ok" && o.pollMs > 0) await sleep(o.pollMs);
        if (out.kind === "error") await sleep(1);
      }
      conn.close();
    }));
    worker.postMessage("started");
  };
}

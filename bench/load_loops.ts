/**
 * The publisher and worker loops of a load run, one intent per request
 * (`single` mode) or in batches (`batch` and `longpoll` modes). `runLoad` in
 * `load.ts` builds the {@linkcode LoopContext} they share and runs them.
 *
 * @module
 */

import type { BusConnection, Outcome } from "./bus_client.ts";
import type { Tally } from "./load_tally.ts";
import type { Counters, Histogram } from "./stats.ts";

/** What the loops of one run share. */
export interface LoopContext {
  goal: string;
  namespace: string;
  intents: number;
  publishers: number;
  /** Sleep after an empty claim, ms. */
  pollMs: number;
  /** Intents per `POST /intents` in batch modes. */
  batchSize: number;
  /** The claim query string (goal, namespace, and `max`, `wait`). */
  query: string;
  /** `performance.now()` past which the run gives up. */
  deadline: number;
  tally: Tally;
  errors: Counters;
  h: { publish: Histogram; claim: Histogram; fulfil: Histogram };
  /** Opens a connection that the run closes at its end or timeout. */
  open(): BusConnection;
  /** Makes a call, counting it and timing it into `hist` on success. */
  timed(hist: Histogram, call: () => Promise<Outcome>): Promise<Outcome>;
  /** Whether the run timed out. */
  stopped(): boolean;
  /** Whether workers should stop: timed out, or all published fulfilled. */
  finished(): boolean;
  /** Tells the run that a publisher has published all it had. */
  publisherDone(): void;
  /** Tells the run that progress was made (it may be complete). */
  progressed(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function body(c: LoopContext, n: number) {
  return {
    goal: c.goal,
    namespace: c.namespace,
    payload: { n },
    visibility: "public",
  };
}

/** The error code of a batch answer's item, or `missing`. */
function itemCode(r: Record<string, unknown> | undefined): string {
  const e = r?.error as { code?: unknown } | undefined;
  return typeof e?.code === "string" ? e.code : "missing";
}

/**
 * Publishes every `publishers`-th intent from `p`: one `POST /intent` each
 * (`batchSize` 1) or `POST /intents` of `batchSize`, retrying what failed
 * (the item, or the whole batch when the request failed) up to 5 times.
 *
 * @param c The run.
 * @param p This publisher's index.
 * @param batched Whether to use `POST /intents`.
 */
export async function publisher(
  c: LoopContext,
  p: number,
  batched: boolean,
): Promise<void> {
  const conn = c.open();
  const mine: number[] = [];
  for (let i = p; i < c.intents; i += c.publishers) mine.push(i);
  const size = batched ? c.batchSize : 1;
  for (let b = 0; b < mine.length && !c.stopped(); b += size) {
    let todo = mine.slice(b, b + size);
    for (let attempt = 0; attempt < 5 && todo.length > 0; attempt++) {
      const t0 = performance.now();
      if (!batched) {
        const out = await c.timed(
          c.h.publish,
          () => conn.publish(JSON.stringify(body(c, todo[0]))),
        );
        if (out.kind === "ok" && typeof out.body.id === "string") {
          c.tally.published(out.body.id, t0);
          todo = [];
        } else if (out.kind === "ok") c.errors.add("publish:no_id");
      } else {
        const json = JSON.stringify({ intents: todo.map((n) => body(c, n)) });
        const out = await c.timed(c.h.publish, () => conn.publishMany(json));
        if (out.kind === "ok") {
          const results = out.body.results as Record<string, unknown>[];
          todo = todo.filter((_, k) => {
            const r = results?.[k];
            if (r && typeof r.id === "string") {
              c.tally.published(r.id, t0);
              return false;
            }
            c.errors.add(`publish:item:${itemCode(r)}`);
            return true;
          });
        }
      }
      if (performance.now() > c.deadline) break;
    }
  }
  c.publisherDone();
  conn.close();
}

/**
 * Claims until the run is finished. Single mode: claim one, then
 * `POST /fulfill/<id>`. Batch modes: the query's `max` per claim, then one
 * `POST /ack` for them all. A fulfil refused with 404/409 (`not_found`,
 * `lease_lost`) is a lost lease; other failures are retried up to 5 times.
 *
 * @param c The run.
 * @param batched Whether claims answer `{"intents":[...]}` and use `/ack`.
 */
export async function worker(c: LoopContext, batched: boolean): Promise<void> {
  const conn = c.open();
  while (!c.finished()) {
    const out = await c.timed(c.h.claim, () => conn.claim(c.query));
    if (out.kind === "empty") {
      c.tally.emptyPolls++;
      if (c.pollMs > 0) await sleep(c.pollMs);
      continue;
    }
    if (out.kind === "error") {
      // Back off on errors so a failing server is not spun against.
      await sleep(Math.max(c.pollMs, 1));
      continue;
    }
    const got = batched
      ? (out.body.intents ?? []) as Record<string, unknown>[]
      : [out.body];
    let todo = new Map<string, string>();
    for (const it of got) {
      c.tally.delivered(String(it.id));
      todo.set(String(it.id), String(it.claim_token));
    }
    for (let attempt = 0; attempt < 5 && todo.size > 0; attempt++) {
      todo = batched ? await ack(c, conn, todo) : await fulfil(c, conn, todo);
      c.progressed();
      if (performance.now() > c.deadline) break;
    }
  }
  conn.close();
}

/** Fulfils the one intent in `todo`; answers what is left to retry. */
async function fulfil(
  c: LoopContext,
  conn: BusConnection,
  todo: Map<string, string>,
): Promise<Map<string, string>> {
  const [[id, token]] = todo;
  const res = await c.timed(c.h.fulfil, () => conn.fulfil(id, token));
  if (res.kind === "ok") c.tally.fulfilled(id);
  else if (res.status === 404 || res.status === 409) c.tally.leasesLost++;
  else return todo;
  return new Map();
}

/** Acknowledges every intent in `todo`; answers what is left to retry. */
async function ack(
  c: LoopContext,
  conn: BusConnection,
  todo: Map<string, string>,
): Promise<Map<string, string>> {
  const acks = [...todo].map(([id, claim_token]) => ({
    id,
    claim_token,
    status: "fulfilled",
    result: { ok: true },
  }));
  const res = await c.timed(
    c.h.fulfil,
    () => conn.ack(JSON.stringify({ acks })),
  );
  if (res.kind !== "ok") return todo;
  const again = new Map<string, string>();
  const results = res.body.results as Record<string, unknown>[];
  acks.forEach((a, k) => {
    const r = results?.[k];
    if (r?.ok === true) return c.tally.fulfilled(a.id);
    const code = itemCode(r);
    if (code === "not_found" || code === "lease_lost") c.tally.leasesLost++;
    else {
      c.errors.add(`ack:item:${code}`);
      again.set(a.id, a.claim_token);
    }
  });
  return again;
}

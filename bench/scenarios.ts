/**
 * Scenarios beyond the four profiles: a publisher alone versus the same
 * publisher beside many workers polling an empty queue, and pre-filling a
 * backlog of open intents before a profile runs.
 *
 * @module
 */

import { BusConnection, type BusTarget } from "./bus_client.ts";
import { insertParams } from "./ceilings.ts";
import type { PollerReport, PollerStart } from "./poller_worker.ts";
import { Histogram, type LatencySummary } from "./stats.ts";
import { DatabaseSync } from "node:sqlite";
import { openSqliteStore } from "../storage/sqlite/mod.ts";
import { openPostgresStore } from "../storage/postgres/open.ts";
import pg from "pg";
import type { Storage } from "../storage/storage.ts";

/** Publish rate of one publisher, alone and beside idle pollers. */
export interface PublisherUnderPoll {
  intents: number;
  pollers: number;
  /** The pollers' sleep after an empty poll, ms. */
  pollMs: number;
  aloneRate: number;
  alone: LatencySummary;
  underPollRate: number;
  underPoll: LatencySummary;
  /** `underPollRate ÷ aloneRate`; the target is at least 0.9. */
  ratio: number;
  /** Intents published beside the pollers before the time limit. */
  underPollPublished: number;
  /** Empty polls the pollers made during the second phase. */
  polls: number;
  pollErrors: number;
}

async function publishAll(
  target: BusTarget,
  goal: string,
  n: number,
  limitMs = Infinity,
) {
  const conn = new BusConnection(target);
  const hist = new Histogram();
  const body = JSON.stringify({
    goal,
    payload: { n: 1 },
    visibility: "public",
  });
  const t0 = performance.now();
  let i = 0;
  for (; i < n && performance.now() - t0 < limitMs; i++) {
    const s = performance.now();
    const out = await conn.publish(body);
    if (out.kind !== "ok") {
      throw new Error(`Publish failed: ${JSON.stringify(out)}`);
    }
    hist.record(performance.now() - s);
  }
  conn.close();
  return {
    published: i,
    rate: i / (performance.now() - t0) * 1000,
    latency: hist.summary(),
  };
}

/**
 * One publisher publishes `intents` intents alone, then again while `pollers`
 * workers (in a Web Worker thread) poll another, empty goal.
 *
 * @param target The server.
 * @param intents Intents per phase; 20,000 in the issue.
 * @param pollers Polling workers; 200 in the issue.
 * @param pollMs Sleep after an empty poll; 0 by default.
 * @param limitMs The phase beside the pollers stops after this long even if
 *   not every intent is published (its rate is over what was).
 * @returns Both rates and their ratio.
 */
export async function publisherUnderPoll(
  target: BusTarget,
  intents = 20_000,
  pollers = 200,
  pollMs = 0,
  limitMs = 60_000,
): Promise<PublisherUnderPoll> {
  const tag = crypto.randomUUID().slice(0, 8);
  const alone = await publishAll(target, `bench.pup.alone.${tag}`, intents);
  const worker = new Worker(new URL("./poller_worker.ts", import.meta.url), {
    type: "module",
  });
  const next = () =>
    new Promise<unknown>((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
    });
  try {
    const started = next();
    worker.postMessage(
      {
        url: target.url,
        key: target.key,
        query: `goal=bench.pup.idle.${tag}&namespace=default`,
        workers: pollers,
        pollMs,
      } satisfies PollerStart,
    );
    await started;
    const under = await publishAll(
      target,
      `bench.pup.busy.${tag}`,
      intents,
      limitMs,
    );
    const stopped = next();
    worker.postMessage("stop");
    const report = await stopped as PollerReport;
    return {
      intents,
      pollers,
      pollMs,
      aloneRate: alone.rate,
      alone: alone.latency,
      underPollRate: under.rate,
      underPoll: under.latency,
      ratio: under.rate / alone.rate,
      underPollPublished: under.published,
      polls: report.polls,
      pollErrors: report.errors,
    };
  } finally {
    worker.terminate();
  }
}

/** Publishes up to 1,000 open intents of `goal` through `store`, then closes it. */
async function seed(store: Storage, goal: string, n: number): Promise<void> {
  try {
    const now = Date.now();
    const items = [];
    for (let i = 0; i < Math.min(n, 1000); i++) {
      items.push(insertParams(hexId(), goal, now, 0));
    }
    await store.intentInsertMany({ items, atomic: true });
  } finally {
    await store.close();
  }
}

/**
 * Fills a database file with `n` open, due, public intents of `goal` at
 * priority 0: the first 1,000 through the store (so every column is what the
 * store writes), then by copying those rows with fresh random ids in SQL,
 * doubling each round, which takes seconds for a million, then `ANALYZE`.
 * Start the server on the file afterwards.
 *
 * @param path The SQLite file (created and migrated if needed).
 * @param goal The backlog's goal.
 * @param n How many intents.
 * @returns Seconds taken.
 */
export async function prefillDirect(
  path: string,
  goal: string,
  n: number,
): Promise<number> {
  const t0 = performance.now();
  await seed(await openSqliteStore({ path }), goal, n);
  const db = new DatabaseSync(path);
  try {
    const cols = db.prepare("PRAGMA table_info(intents)").all()
      .map((c) => String(c.name));
    const select = cols.map((c) =>
      c === "id" ? "lower(hex(randomblob(16)))" : c
    );
    const copy = db.prepare(
      `INSERT INTO intents (${cols.join(", ")}) SELECT ${
        select.join(", ")
      } FROM intents WHERE goal = ? LIMIT ?`,
    );
    const count = db.prepare(
      "SELECT count(*) AS n FROM intents WHERE goal = ?",
    );
    let have = Number(count.get(goal)?.n);
    while (have < n) {
      copy.run(goal, Math.min(have, n - have));
      have = Number(count.get(goal)?.n);
    }
    // The store ran `PRAGMA optimize` on close when the table held 1,000
    // rows; refresh the statistics as a server shut down with this backlog
    // would have, or the planner works from the stale 1,000-row figures.
    db.exec("ANALYZE");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
  return (performance.now() - t0) / 1000;
}

/**
 * Fills a PostgreSQL database (ours, migrated here) with `n` open intents
 * of `goal`, as {@linkcode prefillDirect} does a SQLite file: 1,000 through
 * the store, then copies of them with new ids until there are `n`, then
 * `ANALYZE`.
 *
 * @param url The database, empty or ours.
 * @param goal The backlog's goal.
 * @param n How many intents.
 * @returns Seconds taken.
 */
export async function prefillPostgres(
  url: string,
  goal: string,
  n: number,
): Promise<number> {
  const t0 = performance.now();
  await seed(await openPostgresStore({ url, poolSize: 1 }), goal, n);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const cols = (await db.query(
      `SELECT column_name FROM information_schema.columns
        WHERE table_name = 'intents' AND table_schema = current_schema()
        ORDER BY ordinal_position`,
    )).rows.map((r) => String(r.column_name));
    const select = cols.map((c) => c === "id" ? "md5(random()::text)" : c);
    const copy = `INSERT INTO intents (${cols.join(", ")}) SELECT ${
      select.join(", ")
    } FROM intents WHERE goal = $1 LIMIT $2`;
    const count = async () =>
      Number(
        (await db.query("SELECT count(*) AS n FROM intents WHERE goal = $1", [
          goal,
        ])).rows[0].n,
      );
    let have = await count();
    while (have < n) {
      await db.query(copy, [goal, Math.min(have, n - have)]);
      have = await count();
    }
    await db.query("VACUUM ANALYZE intents");
  } finally {
    await db.end();
  }
  return (performance.now() - t0) / 1000;
}

/**
 * Fills any server with `n` open intents of `goal` over HTTP, 20 at a time.
 *
 * @param target The server.
 * @param goal The backlog's goal.
 * @param n How many intents.
 * @returns Seconds taken.
 */
export async function prefillHttp(
  target: BusTarget,
  goal: string,
  n: number,
): Promise<number> {
  const body = JSON.stringify({
    goal,
    payload: { n: 1 },
    priority: 0,
    visibility: "public",
  });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 20 }, async () => {
    const conn = new BusConnection(target);
    while (next < n) {
      next++;
      const out = await conn.publish(body);
      if (out.kind !== "ok") {
        throw new Error(`Pre-fill failed: ${JSON.stringify(out)}`);
      }
    }
    conn.close();
  }));
  return (performance.now() - t0) / 1000;
}

function hexId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

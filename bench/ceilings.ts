/**
 * Ceilings measured in the same run as the profiles, so our figures can be
 * read as ratios that travel across machines: the load generator against a
 * bare JSON route (`Deno.serve`, and Hono on `Deno.serve`) in a child
 * process, and the in-process storage lifecycle rate (insert, claim, fulfil).
 *
 * @module
 */

import { HttpConnection } from "./http_client.ts";
import { spawnServer } from "./server_process.ts";
import { openSqliteStore } from "../storage/sqlite/mod.ts";
import type { Storage } from "../storage/storage.ts";

/** Requests per second of the generator against one bare route. */
export interface HttpCeiling {
  /** `deno` (bare `Deno.serve`) or `hono` (Hono on `Deno.serve`). */
  kind: string;
  /** `raw` (our {@linkcode HttpConnection}) or `fetch` (for comparison). */
  client: "raw" | "fetch";
  connections: number;
  requestsPerSec: number;
}

/**
 * Drives `POST /json` of a child ceiling server with `connections`
 * keep-alive connections for `durationMs`.
 *
 * @param kind `deno` or `hono`.
 * @param connections Concurrent connections.
 * @param durationMs How long to measure, after a short warm-up.
 * @param client `raw` (ours, the default) or `fetch`.
 * @returns The rate reached.
 */
export async function httpCeiling(
  kind: string,
  connections = 50,
  durationMs = 3000,
  client: "raw" | "fetch" = "raw",
): Promise<HttpCeiling> {
  const server = await spawnServer("bench/ceiling_server.ts", [kind]);
  try {
    await hammer(server.url, connections, 500, client);
    const n = await hammer(server.url, connections, durationMs, client);
    return {
      kind,
      client,
      connections,
      requestsPerSec: n / durationMs * 1000,
    };
  } finally {
    await server.stop();
  }
}

async function hammer(
  url: string,
  conns: number,
  ms: number,
  client: "raw" | "fetch",
) {
  const body = '{"goal":"ceiling","payload":{"n":1}}';
  const headers = "X-API-KEY: k\r\nContent-Type: application/json\r\n";
  const end = performance.now() + ms;
  let count = 0;
  await Promise.all(Array.from({ length: conns }, async () => {
    const conn = new HttpConnection(url);
    while (performance.now() < end) {
      let status;
      if (client === "fetch") {
        const res = await fetch(`${url}/json`, {
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
        });
        await res.text();
        status = res.status;
      } else {
        status = (await conn.request("POST", "/json", headers, body)).status;
      }
      if (status !== 200) throw new Error(`Ceiling answered ${status}`);
      count++;
    }
    conn.close();
  }));
  return count;
}

/** In-process lifecycles (insert, claim, fulfil) per second. */
export interface StorageCeiling {
  /** The store's name, such as `sqlite:node:sqlite`. */
  store: string;
  /** Lifecycles run one after another. */
  sequentialPerSec: number;
  /** Lifecycles run by `concurrency` loops at once (group commit can help). */
  concurrentPerSec: number;
  concurrency: number;
}

/**
 * Measures the storage lifecycle rate on a fresh temporary WAL database.
 *
 * @param n Lifecycles per measurement.
 * @param concurrency Concurrent loops of the second measurement.
 * @returns Both rates.
 */
export async function storageCeiling(
  n = 5000,
  concurrency = 50,
): Promise<StorageCeiling> {
  const dir = await Deno.makeTempDir({ prefix: "bench_store_" });
  const store = await openSqliteStore({ path: `${dir}/store.db` });
  try {
    await lifecycles(store, "warmup", 500, 1);
    const seq = await lifecycles(store, "seq", n, 1);
    const con = await lifecycles(store, "con", n, concurrency);
    return {
      store: store.name,
      sequentialPerSec: seq,
      concurrentPerSec: con,
      concurrency,
    };
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function lifecycles(
  store: Storage,
  goal: string,
  n: number,
  loops: number,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: loops }, async () => {
    while (next < n) {
      next++;
      const now = Date.now();
      const id = crypto.randomUUID().replaceAll("-", "");
      await store.intentInsert(insertParams(id, goal, now));
      const [c] = await store.intentClaim({
        namespace: "default",
        goal,
        caller: "bench",
        master: true,
        publisher: null,
        workerId: null,
        capabilities: [],
        leaseMs: 60_000,
        max: 1,
        now,
      });
      if (!c) throw new Error("Storage ceiling: claim found nothing");
      await store.intentFulfil({
        id: c.id,
        token: c.claimToken,
        caller: "bench",
        now,
        result: null,
        resultType: "json",
      });
    }
  }));
  return n / (performance.now() - t0) * 1000;
}

/**
 * The insert parameters of a public, due intent; shared with the backlog
 * pre-fill.
 *
 * @param id 32 hex characters.
 * @param goal The goal.
 * @param now Unix ms; the intent is due then.
 * @param priority 100 by default.
 * @returns Parameters for `intentInsert`.
 */
export function insertParams(
  id: string,
  goal: string,
  now: number,
  priority = 100,
) {
  return {
    id,
    namespace: "default",
    goal,
    payload: { n: 1 },
    priority,
    visibility: "public" as const,
    targetWorker: null,
    requiredCapability: null,
    maxAttempts: 3,
    backoffBase: 5,
    publisher: "bench",
    quota: null,
    idempotencyKey: null,
    requestHash: null,
    runAt: now,
    expiresAt: now + 24 * 3600_000,
    now,
  };
}

/**
 * Server CPU per request, by kind of request: publish, claim that finds an
 * intent, fulfil, and empty claim, each run alone against a freshly spawned
 * server, with the CPU read from `/proc`. Dividing one core by these gives
 * the most intents per second the server could do on it, whatever the load
 * generator does; the Hono ceiling route gives the floor of the HTTP stack.
 *
 * @module
 */

import { BusConnection } from "./bus_client.ts";
import { HttpConnection } from "./http_client.ts";
import {
  processUsage,
  type ServerProcess,
  spawnServer,
  withBusServer,
} from "./server_process.ts";

/** The cost of one kind of request. */
export interface RequestCost {
  /** `publish`, `claim (hit)`, `fulfil`, `claim (empty)` or `hono ceiling`. */
  op: string;
  /** Requests of this kind that were sent. */
  requests: number;
  /** Their rate over the phase. */
  requestsPerSec: number;
  /** Server CPU used, as a percentage of one core. */
  serverCpuPercent: number;
  /** Server CPU microseconds per request. */
  cpuMicros: number;
  /** The load generator's CPU, as a percentage of one core. */
  generatorCpuPercent: number;
}

async function phase(
  server: ServerProcess,
  op: string,
  connections: number,
  step: (conn: BusConnection) => Promise<boolean>,
): Promise<RequestCost> {
  const u0 = await processUsage(server.pid);
  const g0 = await processUsage(Deno.pid);
  const t0 = performance.now();
  let n = 0;
  await Promise.all(Array.from({ length: connections }, async () => {
    const conn = new BusConnection(server);
    while (await step(conn)) n++;
    conn.close();
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (await processUsage(server.pid)).cpuSeconds - u0.cpuSeconds;
  const gen = (await processUsage(Deno.pid)).cpuSeconds - g0.cpuSeconds;
  return {
    op,
    requests: n,
    requestsPerSec: n / seconds,
    serverCpuPercent: cpu / seconds * 100,
    cpuMicros: n > 0 ? cpu / n * 1e6 : 0,
    generatorCpuPercent: gen / seconds * 100,
  };
}

/** Options of {@linkcode requestCosts}. */
export interface CostOptions {
  /** Intents to publish, claim and fulfil; 10,000 by default. */
  intents?: number;
  /** Concurrent connections per phase; 20 by default. */
  connections?: number;
  /**
   * Flags for `deno run` of our server, such as `--cpu-prof`; the ceiling
   * servers run without them.
   */
  denoFlags?: string[];
}

/**
 * Measures server CPU per request kind on a fresh server of ours (with
 * `BUS_EMPTY_HOLD_MS=0`), then the Hono and bare `Deno.serve` ceiling
 * routes'.
 *
 * @param o See {@linkcode CostOptions}.
 * @returns One row per kind of request.
 */
export async function requestCosts(
  o: CostOptions = {},
): Promise<RequestCost[]> {
  const n = o.intents ?? 10_000;
  const connections = o.connections ?? 20;
  const out: RequestCost[] = [];
  await withBusServer(
    async (server) => {
      const body = '{"goal":"costs","payload":{"n":1},"visibility":"public"}';
      const query = "goal=costs&namespace=default";
      let published = 0;
      out.push(
        await phase(server, "publish", connections, async (c) => {
          if (published++ >= n) return false;
          return (await c.publish(body)).kind === "ok";
        }),
      );
      const leases: [string, string][] = [];
      out.push(
        await phase(server, "claim (hit)", connections, async (c) => {
          const o = await c.claim(query);
          if (o.kind !== "ok") return false;
          leases.push([String(o.body.id), String(o.body.claim_token)]);
          return true;
        }),
      );
      out.push(
        await phase(server, "fulfil", connections, async (c) => {
          const lease = leases.pop();
          return lease !== undefined &&
            (await c.fulfil(lease[0], lease[1])).kind === "ok";
        }),
      );
      let empty = 0;
      out.push(
        await phase(server, "claim (empty)", connections, async (c) => {
          return empty++ < n && (await c.claim(query)).kind === "empty";
        }),
      );
      // The hold off: an empty claim answers at once, so its row is the CPU
      // of the claim itself, not of a second of waiting per request.
    },
    o.denoFlags,
    { BUS_EMPTY_HOLD_MS: "0" },
  );
  out.push(await ceilingCost("hono", n, connections));
  out.push(await ceilingCost("deno", n, connections));
  return out;
}

async function ceilingCost(
  kind: "hono" | "deno",
  n: number,
  connections: number,
): Promise<RequestCost> {
  const server = await spawnServer("bench/ceiling_server.ts", [kind]);
  try {
    const u0 = await processUsage(server.pid);
    const g0 = await processUsage(Deno.pid);
    const t0 = performance.now();
    let sent = 0;
    await Promise.all(Array.from({ length: connections }, async () => {
      const conn = new HttpConnection(server.url);
      while (sent++ < n) {
        await conn.request(
          "POST",
          "/json",
          "Content-Type: application/json\r\n",
          '{"goal":"costs","payload":{"n":1}}',
        );
      }
      conn.close();
    }));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = (await processUsage(server.pid)).cpuSeconds - u0.cpuSeconds;
    const gen = (await processUsage(Deno.pid)).cpuSeconds - g0.cpuSeconds;
    return {
      op: `${kind} ceiling`,
      requests: n,
      requestsPerSec: n / seconds,
      serverCpuPercent: cpu / seconds * 100,
      cpuMicros: cpu / n * 1e6,
      generatorCpuPercent: gen / seconds * 100,
    };
  } finally {
    await server.stop();
  }
}

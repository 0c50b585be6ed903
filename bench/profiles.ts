/**
 * The four load profiles of the original Intent Bus, and running one against
 * a given server or a freshly spawned one of ours.
 *
 * @example
 * ```ts ignore
 * import { runProfile } from "./profiles.ts";
 *
 * const r = await runProfile({ profile: "low" }); // spawns server/main.ts
 * console.log(r.intentsPerSec, r.lost, r.server?.peakRssMiB);
 * ```
 *
 * @module
 */

import { cleanRun, type LoadMode, type LoadResult, runLoad } from "./load.ts";
import {
  type ProcessUsage,
  processUsage,
  type ServerProcess,
  spawnBusServer,
  withBusServer,
} from "./server_process.ts";

/** One profile: workers claiming and fulfilling, intents to publish. */
export interface Profile {
  name: string;
  workers: number;
  intents: number;
  publishers: number;
}

/**
 * Low, Medium, Heavy and Extreme, as the original measured them. Publishers
 * are half the workers, at least 5: each keeps one request in flight, and
 * with 5 on Heavy the publishers, not the server, set the pace (about 1,600
 * intents/s, against 2,300 with 20, while the server's thread had time to
 * spare), and a claim's latency was mostly its wait for the next publish.
 */
export const PROFILES: Record<string, Profile> = {
  low: { name: "low", workers: 5, intents: 50, publishers: 5 },
  medium: { name: "medium", workers: 15, intents: 500, publishers: 8 },
  heavy: { name: "heavy", workers: 40, intents: 2000, publishers: 20 },
  extreme: { name: "extreme", workers: 100, intents: 5000, publishers: 50 },
};

/** Options of {@linkcode runProfile}. */
export interface ProfileOptions {
  /** A key of {@linkcode PROFILES}. */
  profile: string;
  /** Override the profile's intents. */
  intents?: number;
  /** Override the profile's workers. */
  workers?: number;
  /** Override the profile's publishers (half its workers, at least 5). */
  publishers?: number;
  /** Idle sleep after an empty claim, ms; 0 by default. */
  pollMs?: number;
  /** Long-poll seconds for claims (`?wait=`); 0 by default. */
  waitS?: number;
  /** `single` (default), `batch` or `longpoll`; see `LoadOptions.mode`. */
  mode?: LoadMode;
  /** Intents per batch publish in batch modes (100). */
  batchSize?: number;
  /** `max` per claim in batch modes (50). */
  claimMax?: number;
  /** Drive this server (`url` and `key`) instead of spawning ours. */
  target?: { url: string; key: string };
  /** Database file of a spawned server; a fresh temp file when omitted. */
  db?: string;
  /** The goal to use; a fresh `bench.<profile>.<random>` when omitted. */
  goal?: string;
  /** Flags for `deno run` of a spawned server, such as `--cpu-prof`. */
  serverDenoFlags?: string[];
  /**
   * Intents to run through the same server and load generator first, on
   * another goal, unmeasured; 0 (the default) measures from a cold start.
   * A fresh server spends its first second compiling (V8's JIT), which a
   * 2,000-intent profile cannot amortise: Heavy's claim P99 was 39 ms on a
   * new server and 19–25 ms on the same server warm.
   */
  warmup?: number;
  /** Give up after this long, ms. */
  timeoutMs?: number;
  /** Progress callback, see `LoadOptions.onProgress`. */
  onProgress?: (done: number, total: number) => void;
}

/** A profile's result: the load figures, plus the spawned server's usage. */
export interface ProfileResult extends LoadResult {
  profile: string;
  /**
   * Peak RSS (over the whole run) and CPU seconds (during the measured load,
   * after any warm-up) of our spawned server; absent with a target.
   */
  server?: ProcessUsage;
  /** Intents run unmeasured before the measured load. */
  warmup: number;
  /** CPU seconds the load generator (this process) used during the load. */
  generatorCpuSeconds: number;
}

/**
 * Looks up a profile by name.
 *
 * @param name `low`, `medium`, `heavy` or `extreme`.
 * @returns The profile.
 * @throws {RangeError} for an unknown name.
 */
export function profileNamed(name: string): Profile {
  const p = PROFILES[name];
  if (!p) {
    throw new RangeError(
      `Unknown profile: "${name}" (${Object.keys(PROFILES).join(", ")})`,
    );
  }
  return p;
}

/**
 * Runs one profile. Without a `target` it spawns `server/main.ts --dev` on a
 * temporary database (or `db`), and stops it afterwards.
 *
 * @param o See {@linkcode ProfileOptions}.
 * @returns The figures and correctness counters.
 */
export async function runProfile(o: ProfileOptions): Promise<ProfileResult> {
  const p = profileNamed(o.profile);
  if (o.target) return await loadProfile(p, o, o.target, null);
  if (o.db) {
    const server = await spawnBusServer(o.db, [], o.serverDenoFlags);
    try {
      return await loadProfile(p, o, server, server);
    } finally {
      await server.stop();
    }
  }
  return await withBusServer(
    (server) => loadProfile(p, o, server, server),
    o.serverDenoFlags,
  );
}

async function loadProfile(
  p: Profile,
  o: ProfileOptions,
  target: { url: string; key: string },
  server: ServerProcess | null,
): Promise<ProfileResult> {
  const goal = o.goal ?? `bench.${p.name}.${crypto.randomUUID().slice(0, 8)}`;
  const load = {
    url: target.url,
    key: target.key,
    workers: o.workers ?? p.workers,
    publishers: o.publishers ?? p.publishers,
    pollMs: o.pollMs ?? 0,
    waitS: o.waitS ?? 0,
    mode: o.mode,
    batchSize: o.batchSize,
    claimMax: o.claimMax,
    timeoutMs: o.timeoutMs,
  };
  const warmup = o.warmup ?? 0;
  if (warmup > 0) {
    const w = await runLoad({
      ...load,
      goal: `${goal}.warmup`,
      intents: warmup,
    });
    if (!cleanRun(w)) {
      throw new Error(
        `Warm-up of ${p.name} failed: ${w.lost} lost, ${
          w.duplicateDeliveries + w.duplicateFulfils
        } duplicates, ${w.successRate}% success`,
      );
    }
  }
  const serverBefore = await server?.usage();
  const before = await processUsage(Deno.pid);
  const result = await runLoad({
    ...load,
    goal,
    intents: o.intents ?? p.intents,
    onProgress: o.onProgress,
  });
  const after = await processUsage(Deno.pid);
  const serverAfter = await server?.usage();
  return {
    profile: p.name,
    ...result,
    warmup,
    generatorCpuSeconds: after.cpuSeconds - before.cpuSeconds,
    ...(serverBefore && serverAfter
      ? {
        server: {
          peakRssMiB: serverAfter.peakRssMiB,
          rssMiB: serverAfter.rssMiB,
          cpuSeconds: serverAfter.cpuSeconds - serverBefore.cpuSeconds,
        },
      }
      : {}),
  };
}

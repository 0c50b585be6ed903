/**
 * Plain-text tables of the runner's results, and the progress bar.
 *
 * @module
 */

import type { HttpCeiling, StorageCeiling } from "./ceilings.ts";
import type { RequestCost } from "./costs.ts";
import type { ProfileResult } from "./profiles.ts";
import type { PublisherUnderPoll } from "./scenarios.ts";

/** Everything one run of the runner produced; the `--json` output. */
export interface RunReport {
  /** ISO time the run started. */
  startedAt: string;
  /** The command line. */
  command: string;
  /** `spawned` (our server) or the target URL. */
  target: string;
  /** The machine and the state of the checkout the run measured. */
  machine: MachineInfo;
  /**
   * Open intents queued before each profile, if any; `seconds` is the last
   * fill's (one per profile, or one for a --target's `other` backlog).
   */
  queued?: { n: number; seconds: number; via: string };
  profiles: ProfileResult[];
  ceilings?: { http: HttpCeiling[]; storage: StorageCeiling | null };
  publisherUnderPoll?: PublisherUnderPoll;
  /** Server CPU per kind of request (`--costs`). */
  costs?: RequestCost[];
}

/** Where a run ran. */
export interface MachineInfo {
  cores: number;
  cpu: string;
  deno: string;
  /** `git describe --always --dirty` of the checkout, if available. */
  commit: string;
  /** 1-minute load average at the start and the end of the run. */
  loadStart: number;
  loadEnd?: number;
}

async function readOr(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

/**
 * Reads the 1-minute load average.
 *
 * @returns The load, or -1 off Linux.
 */
export async function loadAverage(): Promise<number> {
  const text = await readOr("/proc/loadavg");
  return text ? Number(text.split(" ")[0]) : -1;
}

/**
 * Describes this machine and checkout.
 *
 * @returns Cores, CPU model, Deno version, commit and load average.
 */
export async function machineInfo(): Promise<MachineInfo> {
  const cpu = /model name\s*:\s*(.*)/.exec(await readOr("/proc/cpuinfo"));
  // A snapshot without .git (see RESULTS.md) names its commit in BENCH_COMMIT.
  let commit = Deno.env.get("BENCH_COMMIT") ?? "";
  if (!commit) {
    try {
      const out = await new Deno.Command("git", {
        args: ["describe", "--always", "--dirty"],
        cwd: new URL("../", import.meta.url),
        stdout: "piped",
        stderr: "null",
      }).output();
      commit = new TextDecoder().decode(out.stdout).trim();
    } catch { /* no git */ }
  }
  return {
    cores: navigator.hardwareConcurrency,
    cpu: cpu?.[1] ?? "unknown",
    deno: Deno.version.deno,
    commit,
    loadStart: await loadAverage(),
  };
}

const ms = (v: number) => v < 10 ? v.toFixed(2) : v.toFixed(1);

/**
 * Lays out rows under headers, right-aligned, columns separated by two
 * spaces.
 *
 * @param headers Column titles.
 * @param rows Cells as strings.
 * @returns The table text.
 */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => r[i].length))
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => c.padStart(widths[i])).join("  ");
  return [line(headers), line(widths.map((w) => "-".repeat(w)))]
    .concat(rows.map(line)).join("\n");
}

/**
 * A profile run's name in the table and the chart: `heavy` in single mode,
 * `heavy/batch` in a batch mode.
 *
 * @param r The run's profile and mode (none in reports older than modes).
 * @returns The name.
 */
export function profileLabel(r: { profile: string; mode?: string }): string {
  return !r.mode || r.mode === "single" ? r.profile : `${r.profile}/${r.mode}`;
}

/**
 * The profile table: throughput, latency percentiles, correctness counters.
 * A profile run in a batch mode is named `heavy/batch`; its publish, claim
 * and fulfil (ack) latencies are then per request, not per intent.
 *
 * @param results Profile results.
 * @returns The table text, plus an errors line per profile that had any.
 */
export function profileTable(results: ProfileResult[]): string {
  const rows = results.map((r) => [
    profileLabel(r),
    String(r.workers),
    String(r.intents),
    r.intentsPerSec.toFixed(0),
    `${ms(r.publish.p50)}/${ms(r.publish.p99)}`,
    `${ms(r.claim.p50)}/${ms(r.claim.p99)}`,
    `${ms(r.fulfil.p50)}/${ms(r.fulfil.p99)}`,
    ms(r.endToEnd.p99),
    `${r.successRate.toFixed(1)}%`,
    String(Object.values(r.errors).reduce((a, b) => a + b, 0)),
    String(r.emptyPolls),
    String(r.duplicateDeliveries + r.duplicateFulfils),
    String(r.lost),
    String(r.leasesLost),
    r.server ? r.server.peakRssMiB.toFixed(0) : "-",
    r.server ? r.server.cpuSeconds.toFixed(1) : "-",
    r.generatorCpuSeconds.toFixed(1),
  ]);
  const text = table([
    "profile",
    "workers",
    "intents",
    "intents/s",
    "publish p50/p99",
    "claim p50/p99",
    "fulfil p50/p99",
    "e2e p99",
    "success",
    "errors",
    "empty polls",
    "dups",
    "lost",
    "leases lost",
    "srv RSS MiB",
    "srv CPU s",
    "gen CPU s",
  ], rows);
  const errs = results.filter((r) => Object.keys(r.errors).length > 0)
    .map((r) => `errors in ${r.profile}: ${JSON.stringify(r.errors)}`);
  const timeouts = results.filter((r) => r.timedOut)
    .map((r) => `${r.profile} timed out`);
  return [text, ...errs, ...timeouts].join("\n");
}

/**
 * The ceilings and our throughput as a ratio of each.
 *
 * @param report A run report with ceilings.
 * @returns The text; empty without ceilings.
 */
export function ceilingText(report: RunReport): string {
  const c = report.ceilings;
  if (!c) return "";
  const lines = c.http.map((h) =>
    `HTTP ceiling, ${h.kind} JSON route, ${h.client} client, ${h.connections} connections: ${
      h.requestsPerSec.toFixed(0)
    } req/s`
  );
  if (c.storage) {
    lines.push(
      `Storage lifecycle (${c.storage.store}, in process): ${
        c.storage.sequentialPerSec.toFixed(0)
      }/s sequential, ${
        c.storage.concurrentPerSec.toFixed(0)
      }/s with ${c.storage.concurrency} concurrent`,
    );
  }
  const hono = c.http.find((h) => h.kind === "hono" && h.client === "raw");
  for (const r of report.profiles) {
    const parts = [`${r.profile}: ${r.intentsPerSec.toFixed(0)} intents/s`];
    if (hono) {
      parts.push(
        `${
          (r.intentsPerSec / (hono.requestsPerSec / 3)).toFixed(2)
        } × (Hono ceiling ÷ 3)`,
      );
    }
    if (c.storage) {
      const best = Math.max(
        c.storage.sequentialPerSec,
        c.storage.concurrentPerSec,
      );
      parts.push(`${(r.intentsPerSec / best).toFixed(2)} × storage lifecycle`);
    }
    lines.push(parts.join(", "));
  }
  return lines.join("\n");
}

/**
 * The publisher-under-poll comparison.
 *
 * @param p The scenario's result.
 * @returns One paragraph.
 */
export function pupText(p: PublisherUnderPoll): string {
  return [
    `Publisher alone: ${p.aloneRate.toFixed(0)} intents/s (p50 ${
      ms(p.alone.p50)
    } ms, p99 ${ms(p.alone.p99)} ms)`,
    `Beside ${p.pollers} workers polling an empty goal (sleep ${p.pollMs} ms): ${
      p.underPollRate.toFixed(0)
    } intents/s (p50 ${ms(p.underPoll.p50)} ms, p99 ${
      ms(p.underPoll.p99)
    } ms); ${p.underPollPublished} of ${p.intents} published; ${p.polls} polls, ${p.pollErrors} poll errors`,
    `Ratio: ${p.ratio.toFixed(2)} (target ≥ 0.90)`,
  ].join("\n");
}

/**
 * A one-line progress bar, for a TTY.
 *
 * @param label The profile.
 * @param done Fulfilled intents.
 * @param total All intents.
 * @returns The bar, starting with a carriage return.
 */
export function progressBar(
  label: string,
  done: number,
  total: number,
): string {
  const width = 30;
  const filled = Math.round(width * Math.min(1, done / Math.max(1, total)));
  return `\r${label.padEnd(8)} [${"#".repeat(filled)}${
    ".".repeat(width - filled)
  }] ${done}/${total}`;
}

/**
 * The request-cost table, and the intents/s one core allows at those costs.
 *
 * @param costs Rows from `requestCosts`.
 * @returns The text.
 */
export function costText(costs: RequestCost[]): string {
  const rows = costs.map((c) => [
    c.op,
    String(c.requests),
    c.requestsPerSec.toFixed(0),
    c.serverCpuPercent.toFixed(0),
    c.cpuMicros.toFixed(0),
    c.generatorCpuPercent.toFixed(0),
  ]);
  const micros = (op: string) => costs.find((c) => c.op === op)?.cpuMicros ?? 0;
  const lifecycle = micros("publish") + micros("claim (hit)") +
    micros("fulfil");
  return [
    table([
      "request",
      "n",
      "req/s",
      "server CPU %",
      "CPU µs/request",
      "generator CPU %",
    ], rows),
    `One lifecycle (publish + claim + fulfil): ${
      lifecycle.toFixed(0)
    } µs of server CPU, so at most ${
      lifecycle > 0 ? (1e6 / lifecycle).toFixed(0) : "-"
    } intents/s on one core with no empty polls.`,
  ].join("\n");
}

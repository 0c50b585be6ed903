/**
 * The targets of issues 3 and 4 checked against runner reports, as a
 * Markdown table with "met" / "not met" per target.
 *
 * ```sh
 * deno run -A bench/targets.ts bench/results s3_   # reads s3_*.json
 * ```
 *
 * @module
 */

import type { IdleResult } from "./idle_worker.ts";
import { cleanRun } from "./load.ts";
import type { ProfileResult } from "./profiles.ts";
import type { RunReport } from "./report.ts";

/** The reports the targets are judged on; any may be missing. */
export interface TargetInputs {
  /** `--profile all --ceilings --publisher-under-poll`, single mode. */
  single?: RunReport;
  /** The same profiles with `--warmup 0`, quoted beside a warm `single`. */
  singleCold?: RunReport;
  /** `--profile heavy,extreme --mode batch`. */
  batch?: RunReport;
  /** `--profile heavy,extreme --mode longpoll`. */
  longpoll?: RunReport;
  /** Heavy with 1,000 / 1,000,000 queued in another goal and the same. */
  q1kOther?: RunReport;
  q1mOther?: RunReport;
  q1kSame?: RunReport;
  q1mSame?: RunReport;
  /** `bench/idle_worker.ts --out`: requests of an idle worker. */
  idle?: IdleResult[];
}

/** One row: the target, what was measured, and whether it is met. */
export interface TargetRow {
  target: string;
  measured: string;
  met: boolean | null;
}

const f0 = (n: number) => Math.round(n).toLocaleString("en-US");
const f1 = (n: number) => n.toFixed(1);
const of = (r: RunReport | undefined, name: string) =>
  r?.profiles.find((p) => p.profile === name);

function queued(k: ProfileResult | undefined, m: ProfileResult | undefined) {
  if (!k || !m) return { measured: "not measured", met: null };
  if (m.claim.count === 0) {
    return {
      measured: `1k: ${f1(k.claim.p99)} ms; 1M: no claim answered${
        m.timedOut ? " before the timeout" : ""
      }`,
      met: false,
    };
  }
  const ratio = m.claim.p99 / k.claim.p99;
  return {
    measured: `${f1(m.claim.p99)} vs ${f1(k.claim.p99)} ms (${
      ratio.toFixed(2)
    } ×); 1M run ${m.fulfilled}/${m.intents} fulfilled`,
    met: ratio <= 2 && !m.timedOut,
  };
}

function idleRow(idle: IdleResult[] | undefined): TargetRow {
  const target =
    "An idle SDK worker (long-poll) makes at most 120 requests/hour";
  const lp = idle?.find((r) => r.mode === "longpoll");
  if (!lp) return { target, measured: "not measured", met: null };
  const orig = idle!.find((r) => r.mode === "original");
  return {
    target,
    measured: `${f0(lp.perHour)} (a claim every ${
      lp.claimInterval?.toFixed(1) ?? "?"
    } s)${orig ? `; the original SDK's loop: ${f0(orig.perHour)}` : ""}`,
    met: lp.perHour <= 120, // NaN (under two claims) is not met
  };
}

/**
 * Judges each target.
 *
 * @param i The reports.
 * @returns One row per target, in the order of the issues.
 */
export function targetRows(i: TargetInputs): TargetRow[] {
  const heavy = of(i.single, "heavy"), extreme = of(i.single, "extreme");
  const cold = of(i.singleCold, "heavy");
  // Reports from before the warm-up option have no `warmup`: cold.
  const how = (p: ProfileResult | undefined) =>
    p?.warmup ? `warm, after ${f0(p.warmup)} intents` : "cold";
  const beside = (text: (p: ProfileResult) => string) =>
    heavy?.warmup && cold ? `; cold: ${text(cold)}` : "";
  const hono = i.single?.ceilings?.http.find((c) =>
    c.kind === "hono" && c.client === "raw"
  )?.requestsPerSec;
  const pup = i.single?.publisherUnderPoll;
  const lh = of(i.longpoll, "heavy"), le = of(i.longpoll, "extreme");
  const batchRuns = [i.batch, i.longpoll].flatMap((r) => r?.profiles ?? []);
  const all = [i.single, i.batch, i.longpoll].flatMap((r) => r?.profiles ?? []);
  const none = { measured: "not measured", met: null };
  const rows: TargetRow[] = [
    {
      target: "Heavy: at least 5,000 intents/s (single mode)",
      ...(heavy
        ? {
          measured: `${f0(heavy.intentsPerSec)} (${how(heavy)}${
            beside((p) => f0(p.intentsPerSec))
          })`,
          met: heavy.intentsPerSec >= 5000,
        }
        : none),
    },
    {
      target: "Heavy: at least 0.6 × (Hono ceiling ÷ 3)",
      ...(heavy && hono
        ? {
          measured: `Hono ${f0(hono)} req/s, so ${
            f0(0.6 * hono / 3)
          } intents/s needed; ${(heavy.intentsPerSec / (hono / 3)).toFixed(2)}
            × (Hono ÷ 3)`.replace(/\s+/g, " "),
          met: heavy.intentsPerSec >= 0.6 * hono / 3,
        }
        : none),
    },
    {
      target: "Heavy: claim P99 ≤ 25 ms",
      ...(heavy
        ? {
          measured: `${f1(heavy.claim.p99)} ms (${how(heavy)}${
            beside((p) => `${f1(p.claim.p99)} ms`)
          })`,
          met: heavy.claim.p99 <= 25,
        }
        : none),
    },
    {
      target: "Heavy: 100% success, 0 duplicates, 0 lost",
      ...(heavy
        ? {
          measured: `${f1(heavy.successRate)}%, ${
            heavy.duplicateDeliveries + heavy.duplicateFulfils
          }, ${heavy.lost}`,
          met: cleanRun(heavy),
        }
        : none),
    },
    {
      target: "Extreme (100 workers): within 20% of Heavy",
      ...(heavy && extreme
        ? {
          measured: `${f0(extreme.intentsPerSec)} vs ${
            f0(heavy.intentsPerSec)
          } (${(extreme.intentsPerSec / heavy.intentsPerSec).toFixed(2)} ×)`,
          met: extreme.intentsPerSec >= 0.8 * heavy.intentsPerSec,
        }
        : none),
    },
    {
      target: "1,000,000 queued (other goal): claim P99 ≤ 2 × with 1,000",
      ...queued(of(i.q1kOther, "heavy"), of(i.q1mOther, "heavy")),
    },
    {
      target: "1,000,000 queued (same goal): claim P99 ≤ 2 × with 1,000",
      ...queued(of(i.q1kSame, "heavy"), of(i.q1mSame, "heavy")),
    },
    {
      target: "1 publisher beside 200 no-sleep pollers keeps ≥ 90% of its rate",
      ...(pup
        ? {
          measured: `${f0(pup.underPollRate)} vs ${f0(pup.aloneRate)} alone (${
            pup.ratio.toFixed(2)
          })`,
          met: pup.ratio >= 0.9,
        }
        : none),
    },
    {
      target: "Batch + long-poll: at least 25,000 intents/s",
      ...(lh
        ? {
          measured: `Heavy ${f0(lh.intentsPerSec)}${
            le ? `, Extreme ${f0(le.intentsPerSec)}` : ""
          }`,
          met: lh.intentsPerSec >= 25000 &&
            (!le || le.intentsPerSec >= 25000),
        }
        : none),
    },
    {
      target: "Batch and long-poll: 0 lost, 0 duplicates",
      ...(batchRuns.length
        ? {
          measured: `${batchRuns.filter(cleanRun).length} of ${batchRuns.length}
            runs clean`.replace(/\s+/g, " "),
          met: batchRuns.every(cleanRun),
        }
        : none),
    },
    {
      target: "Every profile run: 0 lost, 0 duplicates",
      ...(all.length
        ? {
          measured: `${
            all.filter(cleanRun).length
          } of ${all.length} runs clean`,
          met: all.every(cleanRun),
        }
        : none),
    },
    idleRow(i.idle),
  ];
  return rows;
}

/**
 * The rows as a Markdown table.
 *
 * @param rows From {@linkcode targetRows}.
 * @returns The table text.
 */
export function targetMarkdown(rows: TargetRow[]): string {
  const met = (m: boolean | null) =>
    m === null ? "not measured" : m ? "**met**" : "**not met**";
  return [
    "| target | measured | met? |",
    "| --- | --- | --- |",
    ...rows.map((r) => `| ${r.target} | ${r.measured} | ${met(r.met)} |`),
  ].join("\n");
}

if (import.meta.main) {
  const [dir = "bench/results", prefix = "s3_"] = Deno.args;
  const read = async (name: string) => {
    try {
      return JSON.parse(
        await Deno.readTextFile(`${dir}/${prefix}${name}.json`),
      ) as RunReport;
    } catch {
      return undefined;
    }
  };
  console.log(targetMarkdown(targetRows({
    single: await read("single"),
    singleCold: await read("single_cold"),
    batch: await read("batch"),
    longpoll: await read("longpoll"),
    q1kOther: await read("q1k_other"),
    q1mOther: await read("q1m_other"),
    q1kSame: await read("q1k_same"),
    q1mSame: await read("q1m_same"),
    idle: await read("idle") as IdleResult[] | undefined,
  })));
}

import assert from "node:assert/strict";
import type { RunReport } from "./report.ts";
import { targetMarkdown, targetRows } from "./targets.ts";

const lat = (p99: number, count = 100) => ({ p50: p99 / 2, p99, count });
const profile = (name: string, rate: number, p99: number, lost = 0) => ({
  profile: name,
  intents: 100,
  intentsPerSec: rate,
  claim: lat(p99),
  successRate: lost ? 99 : 100,
  lost,
  fulfilled: 100 - lost,
  duplicateDeliveries: 0,
  duplicateFulfils: 0,
  timedOut: false,
});
const report = (profiles: unknown[], extra: object = {}) =>
  ({ profiles, ...extra }) as unknown as RunReport;

Deno.test("targets are met or not met from the reports' figures", () => {
  const rows = targetRows({
    single: report([
      profile("heavy", 6000, 20),
      profile("extreme", 4000, 30),
    ], {
      ceilings: {
        http: [{ kind: "hono", client: "raw", requestsPerSec: 24000 }],
        storage: null,
      },
      publisherUnderPoll: { ratio: 0.95, underPollRate: 950, aloneRate: 1000 },
    }),
    longpoll: report([profile("heavy", 30000, 5, 1)]),
    q1kOther: report([profile("heavy", 6000, 10)]),
    q1mOther: report([profile("heavy", 6000, 25)]),
  });
  const met = Object.fromEntries(rows.map((r) => [r.target, r.met]));
  assert.equal(met["Heavy: at least 5,000 intents/s (single mode)"], true);
  assert.equal(met["Heavy: at least 0.6 × (Hono ceiling ÷ 3)"], true);
  assert.equal(met["Heavy: claim P99 ≤ 25 ms"], true);
  assert.equal(met["Extreme (100 workers): within 20% of Heavy"], false);
  assert.equal(
    met["1,000,000 queued (other goal): claim P99 ≤ 2 × with 1,000"],
    false,
  );
  assert.equal(
    met["1,000,000 queued (same goal): claim P99 ≤ 2 × with 1,000"],
    null,
  );
  assert.equal(met["Batch + long-poll: at least 25,000 intents/s"], true);
  assert.equal(met["Batch and long-poll: 0 lost, 0 duplicates"], false);
  assert.match(targetMarkdown(rows), /\| \*\*not met\*\* \|/);
});

Deno.test("a warm Heavy is judged, with the cold run's figures quoted beside it", () => {
  const rows = targetRows({
    single: report([{ ...profile("heavy", 2300, 20), warmup: 10000 }]),
    singleCold: report([profile("heavy", 1900, 50)]),
  });
  const row = (t: string) => rows.find((r) => r.target === t)!;
  const p99 = row("Heavy: claim P99 ≤ 25 ms");
  assert.equal(
    p99.measured,
    "20.0 ms (warm, after 10,000 intents; cold: 50.0 ms)",
  );
  assert.equal(p99.met, true);
  assert.equal(
    row("Heavy: at least 5,000 intents/s (single mode)").measured,
    "2,300 (warm, after 10,000 intents; cold: 1,900)",
  );
  // A report from before the warm-up option is cold, and nothing is quoted.
  const old = targetRows({ single: report([profile("heavy", 1900, 50)]) });
  assert.equal(old[2].measured, "50.0 ms (cold)");
});

Deno.test("an idle worker is judged on its long-poll rate per hour", () => {
  const idle = (perHour: number) => [
    {
      mode: "longpoll" as const,
      seconds: 95,
      requests: 5,
      claims: 4,
      claimInterval: 31,
      perHour,
    },
    {
      mode: "original" as const,
      seconds: 95,
      requests: 48,
      claims: 48,
      claimInterval: 2,
      perHour: 1800,
    },
  ];
  const row = (perHour?: number) =>
    targetRows({ idle: perHour === undefined ? undefined : idle(perHour) })
      .find((r) => r.target.startsWith("An idle SDK worker"))!;
  assert.equal(row(120).met, true);
  assert.equal(row(121).met, false);
  assert.equal(row().met, null);
  assert.match(row(120).measured, /original SDK's loop: 1,800/);
});

import assert from "node:assert/strict";
import { type ChartSeries, chartSvg } from "./chart.ts";

function run(profile: string, intentsPerSec: number, mode?: string) {
  return { profile, mode, intentsPerSec, claim: { p50: 1, p99: 2 } };
}

/** The titles of the throughput bars, in the order drawn. */
function rateBars(series: ChartSeries[]): string[] {
  return [...chartSvg(series).matchAll(/<title>([^<]*intents\/s)<\/title>/g)]
    .map((m) => m[1]);
}

Deno.test("the chart draws a bar for every run of a repeated profile, and names the mode", () => {
  const series = [{
    label: "r",
    profiles: [
      run("heavy", 1),
      run("heavy", 2, "single"),
      run("heavy", 3),
      run("heavy", 4, "longpoll"),
    ],
  }];
  assert.deepEqual(rateBars(series), [
    "r, heavy: 1.00 intents/s",
    "r, heavy #2: 2.00 intents/s",
    "r, heavy #3: 3.00 intents/s",
    "r, heavy/longpoll: 4.00 intents/s",
  ]);
  // The group names under the axis, `heavy/longpoll` on two lines.
  const svg = chartSvg(series);
  assert.match(svg, />heavy\/<\/tspan><tspan [^>]+>longpoll<\/tspan>/);
  assert.match(svg, />heavy<\/tspan><tspan [^>]+>#3<\/tspan>/);
});

Deno.test("the chart puts the n-th run of a profile of each report side by side", () => {
  assert.deepEqual(
    rateBars([
      { label: "a", profiles: [run("heavy", 1), run("heavy", 2)] },
      { label: "b", profiles: [run("heavy", 3, "batch"), run("heavy", 4)] },
    ]),
    [
      "a, heavy: 1.00 intents/s",
      "b, heavy: 4.00 intents/s",
      "a, heavy #2: 2.00 intents/s",
      "b, heavy/batch: 3.00 intents/s",
    ],
  );
});

/**
 * An SVG chart of profile results: intents/s per profile, and claim P50 and
 * P99 per profile, one colour per run (so a before/after pair reads at a
 * glance). Each profile run is a group of its own, named as in the table
 * (`heavy/batch`); a profile run again in the same report is `heavy #2`,
 * `heavy #3`, so the runs of `--profile heavy,heavy,heavy` stand side by
 * side. Used by `deno task profiles --chart file.svg`, or standalone:
 * `deno run -A bench/chart.ts --chart out.svg run1.json [run2.json ...]`
 * over reports written with `--out`.
 *
 * @example
 * ```ts
 * import { chartSvg } from "./chart.ts";
 *
 * const svg = chartSvg([{ label: "demo", profiles: [] }]);
 * console.log(svg.startsWith("<svg")); // true
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { profileLabel, type RunReport } from "./report.ts";

/** One series of the chart: a label and its profile figures. */
export interface ChartSeries {
  label: string;
  profiles: {
    profile: string;
    /** `single` when absent, as in reports older than the modes. */
    mode?: string;
    intentsPerSec: number;
    claim: { p50: number; p99: number };
  }[];
}

const COLOURS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#c53030"];
const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A round tick step (1, 2 or 5 × 10^k) at least `raw`. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

function label(v: number): string {
  return v >= 100 || v === 0 ? v.toFixed(0) : v.toPrecision(2);
}

function panel(
  x0: number,
  w: number,
  title: string,
  groups: string[],
  bars: { label: string; colour: string; values: number[]; dashed?: boolean }[],
  unit: string,
): string {
  const h = 260, top = 40, bottom = 40, left = 60;
  const step = niceStep(
    Math.max(1e-9, ...bars.flatMap((b) => b.values).filter((v) => v >= 0)) / 4,
  );
  const max = step * Math.max(
    1,
    Math.ceil(
      Math.max(0, ...bars.flatMap((b) => b.values).filter((v) => v >= 0)) /
        step,
    ),
  );
  const plotH = h - top - bottom;
  const groupW = (w - left - 10) / Math.max(1, groups.length);
  // Each group makes room for the bars it has: runs in other modes or of
  // other profiles leave no gaps.
  const drawn = groups.map((_, gi) =>
    bars.filter((b) => !Number.isNaN(b.values[gi] ?? NaN))
  );
  const barW = Math.min(
    40,
    (groupW - 10) / Math.max(1, ...drawn.map((d) => d.length)),
  );
  const out = [
    `<text x="${x0 + w / 2}" y="22" text-anchor="middle" font-weight="bold">${
      esc(title)
    }</text>`,
    `<line x1="${x0 + left}" y1="${top}" x2="${x0 + left}" y2="${
      h - bottom
    }" stroke="#444"/>`,
    `<line x1="${x0 + left}" y1="${h - bottom}" x2="${x0 + w - 10}" y2="${
      h - bottom
    }" stroke="#444"/>`,
  ];
  for (let v = 0; v <= max + step / 2; v += step) {
    const y = h - bottom - plotH * v / max;
    out.push(
      `<text x="${x0 + left - 6}" y="${
        y + 4
      }" text-anchor="end" font-size="11">${label(v)}</text>`,
      `<line x1="${x0 + left}" y1="${y}" x2="${
        x0 + w - 10
      }" y2="${y}" stroke="#ddd"/>`,
    );
  }
  out.push(
    `<text x="${x0 + 14}" y="${
      top + plotH / 2
    }" font-size="11" transform="rotate(-90 ${x0 + 14} ${
      top + plotH / 2
    })" text-anchor="middle">${esc(unit)}</text>`,
  );
  // A name goes on up to three lines (`heavy/`, `longpoll`, `#2`), in a
  // smaller font where the groups are narrow, so neighbours do not overlap.
  const size = groupW >= 70 ? 12 : 10;
  groups.forEach((g, gi) => {
    const gx = x0 + left + 5 + gi * groupW;
    const lines = g.split(/(?<=\/)| (?=#)/).map((line, i) =>
      `<tspan x="${gx + groupW / 2 - 5}" dy="${i === 0 ? 0 : size + 1}">${
        esc(line)
      }</tspan>`
    );
    out.push(
      `<text y="${h - bottom + 16}" text-anchor="middle" font-size="${size}">${
        lines.join("")
      }</text>`,
    );
    drawn[gi].forEach((b, bi) => {
      const v = b.values[gi];
      const bh = plotH * v / max;
      const x = gx + (groupW - 10 - barW * drawn[gi].length) / 2 + bi * barW;
      out.push(
        `<rect x="${x}" y="${h - bottom - bh}" width="${
          barW - 2
        }" height="${bh}" fill="${b.colour}"${
          b.dashed ? ' fill-opacity="0.45"' : ""
        }><title>${esc(b.label)}, ${esc(g)}: ${v.toFixed(2)} ${
          esc(unit)
        }</title></rect>`,
        `<text x="${x + barW / 2 - 1}" y="${
          h - bottom - bh - 3
        }" text-anchor="middle" font-size="9">${label(v)}</text>`,
      );
    });
  });
  return out.join("\n");
}

/** A series' profile runs by group name, `heavy #2` for a second Heavy. */
function byRun(s: ChartSeries): Map<string, ChartSeries["profiles"][0]> {
  const runs = new Map<string, ChartSeries["profiles"][0]>();
  const count = new Map<string, number>();
  for (const p of s.profiles) {
    const name = profileLabel(p);
    const n = (count.get(name) ?? 0) + 1;
    count.set(name, n);
    runs.set(n === 1 ? name : `${name} #${n}`, p);
  }
  return runs;
}

/**
 * Renders the chart.
 *
 * @param series One or more runs.
 * @returns The SVG document text.
 */
export function chartSvg(series: ChartSeries[]): string {
  const named = series.map(byRun);
  const groups = [...new Set(named.flatMap((runs) => [...runs.keys()]))];
  const pick = (s: number, f: (p: ChartSeries["profiles"][0]) => number) =>
    groups.map((g) => {
      const p = named[s].get(g);
      return p ? f(p) : NaN; // not run: no bar
    });
  const rate = series.map((s, i) => ({
    label: s.label,
    colour: COLOURS[i % COLOURS.length],
    values: pick(i, (p) => p.intentsPerSec),
  }));
  const claim = series.flatMap((s, i) => [
    {
      label: `${s.label} claim P50`,
      colour: COLOURS[i % COLOURS.length],
      values: pick(i, (p) => p.claim.p50),
      dashed: true,
    },
    {
      label: `${s.label} claim P99`,
      colour: COLOURS[i % COLOURS.length],
      values: pick(i, (p) => p.claim.p99),
    },
  ]);
  const legendY = 280;
  // Three legend entries per row.
  const legend = series.map((s, i) => {
    const x = 20 + (i % 3) * 280, y = legendY + Math.floor(i / 3) * 18;
    return `<rect x="${x}" y="${y}" width="12" height="12" fill="${
      COLOURS[i % COLOURS.length]
    }"/><text x="${x + 16}" y="${y + 11}" font-size="12">${
      esc(s.label.slice(0, 40))
    }</text>`;
  }).join("\n");
  const height = legendY + 12 + Math.ceil(series.length / 3) * 18;
  // Wider panels for many groups, so each name has 60 px or more.
  const w = Math.max(420, 70 + groups.length * 60);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${
    2 * w + 20
  }" height="${height}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
${panel(0, w, "Throughput per profile", groups, rate, "intents/s")}
${
    panel(
      w + 10,
      w,
      "Claim latency P50 (light) / P99 (dark)",
      groups,
      claim,
      "ms",
    )
  }
${legend}
</svg>
`;
}

/**
 * Writes the chart of one or more run reports.
 *
 * @param path Where to write the SVG.
 * @param reports Runner reports; each becomes one series.
 * @param labels Series labels; the reports' start times when omitted.
 */
export async function writeChart(
  path: string,
  reports: Pick<RunReport, "profiles" | "startedAt">[],
  labels?: string[],
): Promise<void> {
  const series = reports.map((r, i) => ({
    label: labels?.[i] ?? `run ${r.startedAt}`,
    profiles: r.profiles,
  }));
  await Deno.writeTextFile(path, chartSvg(series));
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      chart: { type: "string", default: "bench/results.svg" },
      label: { type: "string", multiple: true },
    },
    allowPositionals: true,
  });
  const reports = await Promise.all(
    positionals.map(async (p) => JSON.parse(await Deno.readTextFile(p))),
  );
  await writeChart(values.chart!, reports, values.label);
  console.log(`Chart written to ${values.chart}`);
}

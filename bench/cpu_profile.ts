/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof`, or
 * `deno task profiles --cpu-prof <dir>`): the functions with the most self
 * time and the most inclusive time, as percentages of the sampled time.
 *
 * Usage: `deno run -A bench/cpu_profile.ts <file.cpuprofile> [--top 25]`
 *
 * @module
 */

import { parseArgs } from "node:util";

/** The parts of a V8 CPU profile this reads. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** One row of the summary. */
export interface ProfileLine {
  /** `function file:line`, with the file's last two path segments. */
  frame: string;
  /** Percent of sampled time. */
  percent: number;
}

/**
 * Computes self and inclusive time per frame.
 *
 * @param p A parsed profile.
 * @param top How many rows of each list.
 * @returns Both lists, largest first, and the sampled milliseconds.
 */
export function summariseProfile(
  p: CpuProfile,
  top = 25,
): { totalMs: number; self: ProfileLine[]; inclusive: ProfileLine[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const timeOf = new Map<number, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    timeOf.set(id, (timeOf.get(id) ?? 0) + dt);
    total += dt;
  });
  const name = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const file = f.url.split("/").slice(-2).join("/");
    return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, t] of timeOf) {
    self.set(name(id), (self.get(name(id)) ?? 0) + t);
    const seen = new Set<string>();
    for (
      let cur: number | undefined = id;
      cur !== undefined;
      cur = parent.get(cur)
    ) {
      const k = name(cur);
      if (!seen.has(k)) incl.set(k, (incl.get(k) ?? 0) + t);
      seen.add(k);
    }
  }
  const list = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, top)
      .map(([frame, t]) => ({
        frame,
        percent: total > 0 ? t / total * 100 : 0,
      }));
  return { totalMs: total / 1000, self: list(self), inclusive: list(incl) };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { top: { type: "string", default: "25" } },
    allowPositionals: true,
  });
  for (const file of positionals) {
    const s = summariseProfile(
      JSON.parse(await Deno.readTextFile(file)),
      Number(values.top),
    );
    const fmt = (l: ProfileLine) =>
      `${l.percent.toFixed(1).padStart(5)}%  ${l.frame}`;
    console.log(`${file}: ${s.totalMs.toFixed(0)} ms sampled`);
    console.log("Self time:\n" + s.self.map(fmt).join("\n"));
    console.log("Inclusive time:\n" + s.inclusive.map(fmt).join("\n"));
  }
}

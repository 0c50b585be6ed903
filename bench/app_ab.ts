/**
 * Compares two builds of the server in one process: each revision is
 * checked out into a temporary directory (`.` is the working tree), both
 * apps are created over their own store, and rounds of publish, claim and
 * fulfil alternate between them (A B, B A, …), summing each one's CPU
 * (`process.cpuUsage`, every thread of the process). Whatever else the
 * machine is doing then weighs on both alike.
 *
 * On this shared 2-core VM, separate runs of `bench/app_cpu.ts` differ by
 * 10–30% from one minute to the next, enough to make a change that does
 * nothing look like a 10% gain (dropping the five security headers did, in
 * separate runs, and here did nothing). A build against itself here differs
 * by at most 4% (`. .` 0.961, `HEAD HEAD` 1.024, `HEAD .` 0.968 with only
 * bench files changed): trust differences beyond 5%.
 *
 * Usage: `deno run -A bench/app_ab.ts <rev-a> <rev-b> [--rounds 20]
 * [--per-round 1000] [--concurrency 20]`, for example `HEAD~1 .`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { FetchApp } from "../server/runtime/deno.ts";
import { type AppCpu, lifecycles } from "./app_cpu.ts";
import { countFlag, runMain } from "./_cli.ts";

/** A build to measure: where its files are, and how to drop them. */
interface Build {
  label: string;
  app: FetchApp;
  close: () => Promise<void>;
}

const root = new URL("../", import.meta.url).pathname;

/** The tree of `rev`: the working tree for `.`, else a `git archive`. */
async function tree(rev: string): Promise<{ dir: string; temp: boolean }> {
  if (rev === ".") return { dir: root, temp: false };
  const known = await new Deno.Command("git", {
    args: ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`],
    cwd: root,
    stdout: "null",
    stderr: "null",
  }).output();
  if (!known.success) {
    throw new RangeError(`Not a commit of this repository: "${rev}"`);
  }
  const dir = await Deno.makeTempDir({ prefix: "bench_ab_" });
  const archive = new Deno.Command("sh", {
    args: ["-c", `git archive "$1" | tar -x -C "$2"`, "sh", rev, dir],
    cwd: root,
    stderr: "piped",
  });
  const out = await archive.output();
  if (!out.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(
      `git archive ${rev}: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  // Bare imports (`hono`) resolve through a node_modules beside the tree.
  await Deno.symlink(`${root}node_modules`, `${dir}/node_modules`);
  return { dir: `${dir}/`, temp: true };
}

async function build(rev: string): Promise<Build> {
  const { dir, temp } = await tree(rev);
  const url = (path: string) => new URL(path, `file://${dir}`).href;
  const { createApp } = await import(url("server/app.ts"));
  const { DEFAULT_CONFIG } = await import(url("server/config.ts"));
  const { systemClock } = await import(url("core/clock.ts"));
  const { openSqliteStore } = await import(url("storage/sqlite/mod.ts"));
  const data = await Deno.makeTempDir({ prefix: "bench_ab_db_" });
  const store = await openSqliteStore({
    path: `${data}/bus.db`,
    checkpoint: "thread",
  });
  const app = createApp({
    store,
    clock: systemClock,
    config: { ...DEFAULT_CONFIG, masterKey: "k", emptyHoldMs: 0 },
  });
  return {
    label: rev,
    app,
    close: async () => {
      await store.close();
      await Deno.remove(data, { recursive: true });
      if (temp) await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Mean CPU µs per request of each route, for each build. */
export interface AbResult {
  a: AppCpu;
  b: AppCpu;
}

/**
 * Runs the comparison.
 *
 * @param revA A git revision, or `.` for the working tree.
 * @param revB Another.
 * @param rounds Rounds per build, alternating which goes first.
 * @param perRound Intents per round.
 * @param concurrency Requests in flight.
 * @returns Each build's CPU µs per request.
 * @throws {RangeError} for a revision that is not a commit.
 */
export async function appAb(
  revA: string,
  revB: string,
  rounds = 20,
  perRound = 1000,
  concurrency = 20,
): Promise<AbResult> {
  const builds: Build[] = [];
  try {
    builds.push(await build(revA));
    builds.push(await build(revB));
    const sums = builds.map(() => ({ publish: 0, claim: 0, fulfil: 0 }));
    // Warm both up first, untimed.
    for (const b of builds) await lifecycles(b.app, perRound, concurrency, "k");
    for (let r = 0; r < rounds; r++) {
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const c = await lifecycles(builds[i].app, perRound, concurrency, "k");
        sums[i].publish += c.publish;
        sums[i].claim += c.claim;
        sums[i].fulfil += c.fulfil;
      }
    }
    const mean = (s: AppCpu) => ({
      publish: s.publish / rounds,
      claim: s.claim / rounds,
      fulfil: s.fulfil / rounds,
    });
    return { a: mean(sums[0]), b: mean(sums[1]) };
  } finally {
    for (const b of builds) await b.close();
  }
}

const HELP =
  `Two builds of the server in one process: CPU µs per request of publish,
claim and fulfil, in alternating rounds, and their ratio B / A (a build
against itself: within 4%, so trust differences beyond 5%)

Usage: deno run -A bench/app_ab.ts <rev-a> <rev-b> [flags]

  <rev-a> <rev-b>      git revisions, or . for the working tree (HEAD~1 .)
  --rounds <n>         rounds per build, alternating which goes first (20)
  --per-round <n>      intents per round (1000)
  --concurrency <n>    requests in flight (20)
  --help               this text`;

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      rounds: { type: "string", default: "20" },
      "per-round": { type: "string", default: "1000" },
      concurrency: { type: "string", default: "20" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 2) {
    throw new RangeError(
      `Two revisions wanted, A and B, not ${positionals.length}: see --help`,
    );
  }
  const [revA, revB] = positionals;
  const r = await appAb(
    revA,
    revB,
    countFlag("rounds", values.rounds),
    countFlag("per-round", values["per-round"]),
    countFlag("concurrency", values.concurrency),
  );
  const line = (label: string, c: AppCpu) =>
    `${label.padEnd(12)} publish ${c.publish.toFixed(1)}, claim ${
      c.claim.toFixed(1)
    }, fulfil ${c.fulfil.toFixed(1)}; lifecycle ${
      (c.publish + c.claim + c.fulfil).toFixed(1)
    } µs`;
  console.log(line(revA, r.a));
  console.log(line(revB, r.b));
  const la = r.a.publish + r.a.claim + r.a.fulfil;
  const lb = r.b.publish + r.b.claim + r.b.fulfil;
  console.log(`B / A: ${(lb / la).toFixed(3)}`);
  return 0;
}

if (import.meta.main) await runMain(main);

/**
 * The profile runner, `deno task profiles`: runs the Low, Medium, Heavy and
 * Extreme profiles against our server (spawned per profile on a fresh
 * database) or any Intent Protocol server, with optional ceilings, the
 * publisher-under-poll scenario and a queued backlog. See `--help`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { httpCeiling, storageCeiling } from "./ceilings.ts";
import { writeChart } from "./chart.ts";
import { cleanRun, LOAD_MODES, type LoadMode } from "./load.ts";
import { type ProfileResult, PROFILES, runProfile } from "./profiles.ts";
import { requestCosts } from "./costs.ts";
import {
  ceilingText,
  costText,
  loadAverage,
  machineInfo,
  profileTable,
  progressBar,
  pupText,
  type RunReport,
} from "./report.ts";
import {
  prefillDirect,
  prefillHttp,
  prefillPostgres,
  publisherUnderPoll,
} from "./scenarios.ts";
import { createDatabase, startCluster } from "../storage/postgres/_cluster.ts";
import { usePostgres, withBusServer } from "./server_process.ts";
import { runMain } from "./_cli.ts";

const HELP = `Intent Bus profile runner

Usage: deno task profiles [flags]

  --profile <p>           low | medium | heavy | extreme, comma-separated,
                          or all (default), or none (only the extras)
  --intents <n>           intents per profile (default: the profile's)
  --workers <n>           claiming workers (default: the profile's)
  --publishers <n>        concurrent publishers (default: the profile's, half
                          its workers and at least 5)
  --poll <ms>             worker sleep after an empty claim (default 0)
  --wait <s>              claim with ?wait=s (long-poll, our addition)
  --mode <m>              single (default): one intent per request;
                          batch: POST /intents of --batch-size, claims with
                          ?max=--claim-max, one POST /ack per claim;
                          longpoll: batch plus ?wait= (--wait, default 5)
  --batch-size <n>        intents per POST /intents in batch modes (100)
  --claim-max <n>         max per claim in batch modes (50)
  --target <url>          drive this Intent Protocol server instead of ours
  --key <key>             API key for --target (the master key)
  --queued <n>            n open intents (priority 0) waiting before each
                          profile: a spawned server starts on a database of
                          just them; a --target is filled through the
                          protocol, which cannot empty a queue, so what
                          earlier profiles (and runs) left stays on it
  --queued-goal <g>       other (default): a backlog goal of its own, with
                          --target filled once, before the first profile,
                          and shared by every profile;
                          same: the profile's own goal, filled before it
  --ceilings              also measure the HTTP and storage ceilings
  --costs                 also measure server CPU per kind of request
  --publisher-under-poll  also run 1 publisher alone vs beside 200 pollers
  --pup-intents <n>       intents per phase of that scenario (default 20000)
  --pup-poll <ms>         pollers' sleep after an empty poll (default 0)
  --pup-limit <s>         stop the phase beside the pollers after s seconds
                          and rate what was published (default 60)
  --warmup <n>            intents run first through the same server and
                          generator, on another goal, unmeasured (default
                          10000, about 5 s of Heavy, after which V8 has
                          compiled the hot paths; 0: a cold server)
  --timeout <s>           give up on a profile after s seconds (default 300)
  --json                  print the JSON report instead of tables
  --out <file>            also write the JSON report to a file
  --chart <file.svg>      write an SVG chart of the results
  --cpu-prof <dir>        run the servers of ours it spawns (profiles,
                          --costs, --publisher-under-poll) with deno
                          --cpu-prof into dir; with --target, only --costs
                          spawns one
  --postgres              run spawned servers on PostgreSQL: a throwaway
                          cluster that flushes on commit (fsync on), a fresh
                          database per server; its CPU is not in the
                          server's figures; --queued fills that database
  --help                  this text

Without --target, each profile spawns server/main.ts --dev --port 0 on a
fresh temporary database and reports its peak RSS and CPU seconds.`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(args: string[]): Promise<number> {
  const { values: f } = parseArgs({
    args,
    options: {
      profile: { type: "string", default: "all" },
      intents: { type: "string" },
      workers: { type: "string" },
      publishers: { type: "string" },
      poll: { type: "string", default: "0" },
      wait: { type: "string", default: "0" },
      mode: { type: "string", default: "single" },
      "batch-size": { type: "string", default: "100" },
      "claim-max": { type: "string", default: "50" },
      target: { type: "string" },
      key: { type: "string", default: "" },
      queued: { type: "string", default: "0" },
      "queued-goal": { type: "string", default: "other" },
      ceilings: { type: "boolean", default: false },
      costs: { type: "boolean", default: false },
      "publisher-under-poll": { type: "boolean", default: false },
      "pup-intents": { type: "string", default: "20000" },
      "pup-poll": { type: "string", default: "0" },
      "pup-limit": { type: "string", default: "60" },
      warmup: { type: "string", default: "10000" },
      timeout: { type: "string", default: "300" },
      json: { type: "boolean", default: false },
      out: { type: "string" },
      chart: { type: "string" },
      "cpu-prof": { type: "string" },
      postgres: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (f.help) {
    console.log(HELP);
    return 0;
  }
  const num = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) {
      throw new RangeError(`Invalid --${name}: "${v}"`);
    }
    return n;
  };
  const names = f.profile === "all"
    ? Object.keys(PROFILES)
    : f.profile === "none"
    ? []
    : f.profile!.split(",");
  for (const n of names) {
    if (!PROFILES[n]) throw new RangeError(`Unknown profile: "${n}"`);
  }
  if (f["queued-goal"] !== "other" && f["queued-goal"] !== "same") {
    throw new RangeError(`Invalid --queued-goal: "${f["queued-goal"]}"`);
  }
  const mode = f.mode as LoadMode;
  if (!LOAD_MODES.includes(mode)) {
    throw new RangeError(`Invalid --mode: "${f.mode}"`);
  }
  const target = f.target ? { url: f.target, key: f.key! } : undefined;
  const queued = num("queued", f.queued)!;
  let pgServer: string | null = null;
  if (f.postgres) {
    if (target) throw new RangeError("--postgres goes without --target");
    const cluster = startCluster({ durable: true });
    globalThis.addEventListener("unload", () => cluster.stop());
    usePostgres(pgServer = cluster.url);
  }
  if (f["cpu-prof"] !== undefined && target) {
    if (!f.costs) {
      throw new RangeError(
        "--cpu-prof has nothing to profile with --target: it profiles the servers this runner spawns (add --costs, or drop --cpu-prof)",
      );
    }
    console.error(
      "warning: --cpu-prof profiles only the --costs server; the profiles run on --target",
    );
  }
  const serverDenoFlags = f["cpu-prof"]
    ? ["--cpu-prof", `--cpu-prof-dir=${f["cpu-prof"]}`]
    : [];
  const tty = !f.json && Deno.stderr.isTerminal();
  const say = (text: string) => {
    if (!f.json) console.log(text);
  };
  const report: RunReport = {
    startedAt: new Date().toISOString(),
    command: `deno task profiles ${args.join(" ")}`.trim(),
    target: target?.url ?? "spawned",
    machine: await machineInfo(),
    profiles: [],
  };
  const m = report.machine;
  say(
    `${m.cores} cores, ${m.cpu}, deno ${m.deno}, commit ${m.commit}, load ${m.loadStart}`,
  );
  const warmup = num("warmup", f.warmup)!;
  if (names.length > 0) {
    say(
      warmup === 0
        ? "cold: each profile is measured from the server's first request"
        : `warm-up: ${warmup} intents per profile first, unmeasured (--warmup 0 for a cold server)`,
    );
  }

  const sameGoal = f["queued-goal"] === "same";
  // A goal no earlier run used, so a --target holds exactly `queued` in it.
  const otherGoal = `bench.backlog.${crypto.randomUUID().slice(0, 8)}`;
  if (target && queued > 0 && !sameGoal) {
    const seconds = await prefillHttp(target, otherGoal, queued);
    report.queued = { n: queued, seconds, via: "http" };
  }
  for (const name of names) {
    const goal = `bench.${name}.${crypto.randomUUID().slice(0, 8)}`;
    const backlog = sameGoal ? goal : otherGoal;
    let dir: string | null = null;
    let pgDb: { url: string; drop(): Promise<void> } | null = null;
    let db: string | undefined;
    try {
      if (target && queued > 0 && sameGoal) {
        const seconds = await prefillHttp(target, backlog, queued);
        report.queued = { n: queued, seconds, via: "http" };
      } else if (!target && queued > 0) {
        if (pgServer !== null) {
          pgDb = await createDatabase(pgServer);
          db = pgDb.url;
          const seconds = await prefillPostgres(db, backlog, queued);
          report.queued = { n: queued, seconds, via: "postgres" };
        } else {
          dir = await Deno.makeTempDir({ prefix: "bench_queued_" });
          db = `${dir}/bus.db`;
          const seconds = await prefillDirect(db, backlog, queued);
          report.queued = { n: queued, seconds, via: "sqlite" };
        }
      }
      const result: ProfileResult = await runProfile({
        profile: name,
        goal,
        intents: num("intents", f.intents),
        warmup,
        workers: num("workers", f.workers),
        publishers: num("publishers", f.publishers),
        pollMs: num("poll", f.poll),
        waitS: num("wait", f.wait),
        mode,
        batchSize: num("batch-size", f["batch-size"]),
        claimMax: num("claim-max", f["claim-max"]),
        target,
        db,
        serverDenoFlags,
        timeoutMs: num("timeout", f.timeout)! * 1000,
        onProgress: tty
          ? (done, total) =>
            Deno.stderr.writeSync(
              new TextEncoder().encode(progressBar(name, done, total)),
            )
          : undefined,
      });
      if (tty) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
      report.profiles.push(result);
    } finally {
      if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
      await pgDb?.drop();
    }
    await sleep(200); // let the previous server's sockets close
  }
  if (names.length > 0) say(profileTable(report.profiles));

  if (f.ceilings) {
    const http = [
      await httpCeiling("deno"),
      await httpCeiling("hono"),
      await httpCeiling("deno", 50, 3000, "fetch"),
    ];
    const storage = await storageCeiling();
    report.ceilings = { http, storage };
    say("\n" + ceilingText(report));
  }
  if (f.costs) {
    report.costs = await requestCosts({ denoFlags: serverDenoFlags });
    say("\n" + costText(report.costs));
  }
  if (f["publisher-under-poll"]) {
    const pupIntents = num("pup-intents", f["pup-intents"])!;
    const pupPoll = num("pup-poll", f["pup-poll"])!;
    const pupLimit = num("pup-limit", f["pup-limit"])! * 1000;
    if (target) {
      report.publisherUnderPoll = await publisherUnderPoll(
        target,
        pupIntents,
        200,
        pupPoll,
        pupLimit,
      );
    } else {
      report.publisherUnderPoll = await withBusServer(
        (server) =>
          publisherUnderPoll(server, pupIntents, 200, pupPoll, pupLimit),
        serverDenoFlags,
      );
    }
    say("\n" + pupText(report.publisherUnderPoll));
  }
  report.machine.loadEnd = await loadAverage();
  say(`load average at the end: ${report.machine.loadEnd}`);
  const json = JSON.stringify(report, null, 2);
  if (f.json) console.log(json);
  if (f.out) await Deno.writeTextFile(f.out, json + "\n");
  if (f.chart) {
    await writeChart(f.chart, [report]);
    say(`\nChart written to ${f.chart}`);
  }
  return report.profiles.every(cleanRun) ? 0 : 1;
}

if (import.meta.main) await runMain(main);

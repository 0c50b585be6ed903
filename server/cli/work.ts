/**
 * `intentbus work GOAL -- COMMAND [ARGS]`: a worker that runs a command for
 * each intent of a goal, through the SDK's `Worker` (long-poll and batch
 * claims when the server offers them, heartbeats, graceful SIGINT/SIGTERM).
 *
 * The command gets the payload as JSON on stdin and in `INTENT_PAYLOAD`, with
 * `INTENT_ID`, `INTENT_GOAL`, `INTENT_NAMESPACE` and `INTENT_ATTEMPT`. Exit 0
 * fulfils the intent with stdout as its result (JSON when stdout parses as
 * JSON, else text without its final newline; none when empty); any other exit
 * fails it with the last 500 characters of stderr.
 *
 * @module
 */

import process from "node:process";
import { AuthError, ValidationError } from "../../core/errors.ts";
import type { JsonValue } from "../../core/intent.ts";
import type { LeasedIntent } from "../../sdk/types.ts";
import { Worker } from "../../sdk/worker.ts";
import { runChild } from "./_child.ts";
import {
  clientFrom,
  CONNECT_HELP,
  EXIT,
  EXIT_HELP,
  numberFlag,
  parse,
  UsageError,
} from "./_common.ts";

/** Variables a `work` command never gets: secrets of the server and of admins. */
const SERVER_SECRETS = [
  "BUS_SECRET",
  "BUS_ADMIN_SECRET",
  "DASHBOARD_PASSWORD",
  "BUS_METRICS_TOKEN",
  "INTENT_ADMIN_TOKEN",
] as const;

/** The help of `work`. */
export const WORK_HELP: string =
  `Usage: intentbus work GOAL [flags] -- COMMAND [ARGS...]

Claims intents of GOAL and runs COMMAND for each, with the payload as JSON on
stdin and in INTENT_PAYLOAD (also INTENT_ID, INTENT_GOAL, INTENT_NAMESPACE,
INTENT_ATTEMPT). Exit 0 fulfils the intent with stdout as its result (JSON if
it parses, else text); another exit fails it with the end of stderr (500
characters), and it is retried while attempts last. Runs until SIGINT or
SIGTERM, then lets running commands finish (up to --grace), and gives back
what is left.

${CONNECT_HELP}
  --namespace <ns>     namespace, default "default"
  --concurrency <n>    commands at once, default 1
  --timeout <s>        kill a command after s seconds and fail its intent
  --lease <s>          lease per claim, 10 to 3600, default 60 (renewed
                       while the command runs)
  --grace <s>          at shutdown, time running commands get, default 10

Example: intentbus work resize --concurrency 4 -- ./resize.sh
         intentbus work echo -- sh -c 'cat; echo done'

${EXIT_HELP} work exits 0 after a signal, 4 when its key is refused.`;

function resultOf(stdout: string): { value?: JsonValue; text: boolean } {
  if (stdout.trim() === "") return { text: false };
  try {
    return { value: JSON.parse(stdout), text: false };
  } catch {
    return { value: stdout.replace(/\r?\n$/, ""), text: true };
  }
}

function splitCommand(args: string[]): [string[], string[]] {
  const at = args.indexOf("--");
  if (at === -1) throw new UsageError("work needs -- COMMAND after its flags");
  const command = args.slice(at + 1);
  if (command.length === 0) throw new UsageError("work needs a COMMAND");
  return [args.slice(0, at), command];
}

/**
 * Runs `work` until a signal stops it.
 *
 * @param args The arguments after `work`.
 * @returns The exit code.
 */
export async function workCommand(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    const at = args.indexOf("--");
    const own = at === -1 ? args : args.slice(0, at);
    if (own.includes("--help") || own.includes("-h")) {
      process.stdout.write(WORK_HELP + "\n");
      return EXIT.ok;
    }
  }
  const [own, command] = splitCommand(args);
  const { values, positionals } = parse(own, {
    namespace: { type: "string" },
    concurrency: { type: "string" },
    timeout: { type: "string" },
    lease: { type: "string" },
    grace: { type: "string" },
  });
  if (positionals.length !== 1) throw new UsageError("work needs one GOAL");
  if (positionals[0].trim() === "") {
    throw new UsageError("work needs a GOAL that is not empty");
  }
  const timeout = numberFlag(values.timeout, "timeout", 0.001, 86_400);
  const grace = numberFlag(values.grace, "grace", 0, 86_400) ?? 10;
  const concurrency =
    numberFlag(values.concurrency, "concurrency", 1, 1000, true) ?? 1;
  const lease = numberFlag(values.lease, "lease", 10, 3600, true);
  const client = clientFrom(values);
  let exitCode: number = EXIT.ok;
  const log = (line: string) =>
    process.stderr.write(`intentbus work: ${line}\n`);
  // Why a command failed (its exit code or signal, `timed out`, `not
  // started`), for the line logged once its failure is acknowledged. Keyed
  // by the intent the Worker hands to the handler and to onAck, so that an
  // intent whose lease is lost leaves nothing behind.
  const why = new WeakMap<LeasedIntent, string>();
  // The command works on payloads from anyone who may publish: it gets the
  // worker's own key (to publish follow-ups) but none of the server's or
  // admin secrets, which a run script may have exported beside it.
  const commandEnv: Record<string, string | undefined> = { ...process.env };
  for (const name of SERVER_SECRETS) delete commandEnv[name];
  const worker: Worker = new Worker(client, {
    goal: positionals[0],
    namespace: values.namespace,
    concurrency,
    leaseSeconds: lease,
    gracePeriodMs: grace * 1000,
    onAck: (intent, ack) => {
      const { id } = intent;
      // A failure the command did not cause: the server refused its result.
      const reason = why.get(intent) ?? "result refused";
      log(
        ack.status === "fulfilled" ? `${id} done` : `${id} failed (${reason})`,
      );
    },
    onError: (err, intent) => {
      log(`${intent ? `${intent.id}: ` : ""}${(err as Error)?.message ?? err}`);
      // Claims refused for good: retrying forever helps nobody.
      if (intent === undefined && err instanceof AuthError) {
        exitCode = EXIT.auth;
        worker.stop();
      } else if (intent === undefined && err instanceof ValidationError) {
        exitCode = EXIT.failure;
        worker.stop();
      }
    },
    handler: async (intent, ctx) => {
      const out = await runChild(command, {
        input: JSON.stringify(intent.payload),
        env: {
          ...commandEnv,
          INTENT_PAYLOAD: JSON.stringify(intent.payload),
          INTENT_ID: intent.id,
          INTENT_GOAL: intent.goal,
          INTENT_NAMESPACE: intent.namespace,
          INTENT_ATTEMPT: String(intent.claimAttempts),
        },
        timeoutMs: timeout === undefined ? undefined : timeout * 1000,
        signal: ctx.signal,
      });
      // Nothing is acknowledged once the signal fired: no reason to keep.
      if (ctx.signal.aborted) {
        throw new Error("Stopped: lease lost or shutdown");
      }
      if (out.spawnError !== undefined) {
        why.set(intent, "not started");
        throw new Error(`Cannot run "${command[0]}": ${out.spawnError}`);
      }
      if (out.timedOut) {
        why.set(intent, "timed out");
        throw new Error(`Timed out after ${timeout} s`);
      }
      if (out.code !== 0) {
        why.set(intent, String(out.signal ?? out.code));
        throw new Error(
          (out.stderr.trim() === ""
            ? `Exited with ${out.signal ?? `code ${out.code}`}`
            : out.stderr.trimEnd()).slice(-500),
        );
      }
      const { value, text } = resultOf(out.stdout);
      // Carried by the acknowledgement itself, so every retry of it too.
      if (text) ctx.resultType = "text";
      return value;
    },
  });
  await worker.start();
  const s = worker.stats;
  log(
    `stopped: ${s.fulfilled} fulfilled, ${s.failed} failed, ${s.released} released, ${s.lost} lost`,
  );
  return exitCode;
}

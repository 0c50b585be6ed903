// Runs one command for one intent: the payload on stdin, output collected,
// a timeout and an abort signal that kill the command's whole process group.

import { spawn } from "node:child_process";
import process from "node:process";

/** How a command ended. */
export interface ChildOutcome {
  /** Exit code; null when killed by a signal or never started. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: string | null;
  stdout: string;
  /** The last 4 KiB of stderr. */
  stderr: string;
  /** Killed because `timeoutMs` passed. */
  timedOut: boolean;
  /** Could not be started (no such file, not executable). */
  spawnError?: string;
}

/** What {@linkcode runChild} needs. */
export interface ChildOptions {
  /** Written to stdin, then stdin is closed. */
  input: string;
  env: Record<string, string | undefined>;
  /** Kill after this many ms; none when undefined. */
  timeoutMs?: number;
  /** Kills the command when it fires (lease lost, shutdown). */
  signal: AbortSignal;
  /** Time between SIGTERM and SIGKILL; default 2,000 ms. */
  killGraceMs?: number;
}

const STDOUT_MAX = 1 << 20;
const STDERR_KEEP = 4096;

/**
 * Runs `argv[0]` with `argv.slice(1)`, in its own process group so that a
 * kill reaches the commands a shell started too.
 *
 * @param argv The command and its arguments.
 * @param o Input, environment, timeout and abort signal.
 * @returns How it ended; never rejects.
 */
export function runChild(
  argv: string[],
  o: ChildOptions,
): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const child = spawn(argv[0], argv.slice(1), {
      env: o.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const finish = (
      out: Omit<ChildOutcome, "stdout" | "stderr" | "timedOut">,
    ) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      o.signal.removeEventListener("abort", kill);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ ...out, stdout, stderr, timedOut });
    };
    const group = (sig: "SIGTERM" | "SIGKILL") => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        child.kill(sig);
      }
    };
    function kill() {
      if (settled) return;
      group("SIGTERM");
      timers.push(setTimeout(() => group("SIGKILL"), o.killGraceMs ?? 2_000));
    }
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => {
      if (stdout.length < STDOUT_MAX) stdout += d;
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      stderr = (stderr + d).slice(-STDERR_KEEP);
    });
    // A command that does not read its stdin closes the pipe early.
    child.stdin!.on("error", () => {});
    child.stdin!.end(o.input);
    child.on(
      "error",
      (err) => finish({ code: null, signal: null, spawnError: err.message }),
    );
    child.on("close", (code, signal) => finish({ code, signal }));
    // A background grandchild may hold the pipes open after the command
    // exited: give the output a moment to arrive, then stop waiting.
    child.on("exit", (code, signal) => {
      timers.push(setTimeout(() => finish({ code, signal }), 2_000));
    });
    if (o.signal.aborted) kill();
    else o.signal.addEventListener("abort", kill, { once: true });
    if (o.timeoutMs !== undefined) {
      timers.push(setTimeout(() => {
        timedOut = true;
        kill();
      }, o.timeoutMs));
    }
  });
}

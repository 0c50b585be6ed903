// Runs the `intentbus` CLI as a child process, for the CLI's tests.

const BIN = new URL("./bin.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** What a finished CLI run printed. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a CLI child: only what Deno needs, plus `env`. */
export function cliEnv(env: Record<string, string>): Record<string, string> {
  const keep: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "TMPDIR"]) {
    const v = Deno.env.get(name);
    if (v !== undefined) keep[name] = v;
  }
  return { ...keep, ...env };
}

/** Starts the CLI with `args`; the caller reads and waits. */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, BIN, ...args],
    env: cliEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs the CLI to the end. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const out = await spawnCli(args, env).output();
  const text = new TextDecoder();
  return {
    code: out.code,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
  };
}

/** Polls `ok` every 25 ms until it holds, failing after `ms`. */
export async function until(
  ok: () => Promise<boolean> | boolean,
  what: string,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

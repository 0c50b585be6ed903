/**
 * Starts a server as a child process and reads its resource use from
 * `/proc`: our Intent Bus server (`server/main.ts --dev --port 0`) or a
 * ceiling server, each printing one JSON line with its address once
 * listening.
 *
 * @module
 */

import { createDatabase } from "../storage/postgres/_cluster.ts";

/** A running child server. */
export interface ServerProcess {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The dev master key, when the server printed one. */
  key: string;
  /** The child's process id. */
  pid: number;
  /** Peak RSS (VmHWM) in MiB and CPU seconds (user + system) so far. */
  usage(): Promise<ProcessUsage>;
  /** Stops the child and waits for it to exit. */
  stop(): Promise<void>;
}

/** Resource use of a process, read from `/proc`. */
export interface ProcessUsage {
  peakRssMiB: number;
  /** Resident memory now (VmRSS). */
  rssMiB: number;
  cpuSeconds: number;
}

const repoRoot = new URL("../", import.meta.url);

/**
 * Reads peak and current RSS and CPU time of a process from `/proc` (Linux
 * only).
 *
 * @param pid The process id.
 * @returns Usage, or zeros when `/proc` cannot be read.
 */
export async function processUsage(pid: number): Promise<ProcessUsage> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const kib = (field: string) =>
      Number(new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(status)?.[1] ?? 0);
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return {
      peakRssMiB: kib("VmHWM") / 1024,
      rssMiB: kib("VmRSS") / 1024,
      cpuSeconds: ticks / 100,
    };
  } catch {
    return { peakRssMiB: 0, rssMiB: 0, cpuSeconds: 0 };
  }
}

/**
 * Finds the address or key in one JSON line a server prints, whatever the
 * field names (`url`, `address`, `port`; `master_key`, `masterKey`, `key`).
 * Our server prints the dev key and the address on separate lines.
 *
 * @param line One line of the child's stdout.
 * @returns What the line holds (empty strings for what it lacks), or null
 *   when it is not a JSON object.
 */
export function parseStartLine(
  line: string,
): { url: string; key: string } | null {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(line);
  } catch {
    return null;
  }
  if (j === null || typeof j !== "object") return null;
  const str = (...names: string[]) => {
    for (const n of names) if (typeof j[n] === "string") return j[n] as string;
    return "";
  };
  const key = str("master_key", "masterKey", "key", "api_key", "apiKey");
  let url = str("url", "address", "origin");
  if (!url && typeof j.port === "number") url = `http://127.0.0.1:${j.port}`;
  if (url) {
    url = url.replace("0.0.0.0", "127.0.0.1").replace("localhost", "127.0.0.1");
    if (!url.startsWith("http")) url = `http://${url}`;
    url = url.replace(/\/$/, "");
  }
  return { url, key };
}

/**
 * Spawns `deno run -A <script> ...args` from the repository root and waits
 * for its JSON start line on stdout.
 *
 * @param script Path from the repository root, such as `server/main.ts`.
 * @param args Arguments after the script.
 * @param timeoutMs How long to wait for the start line.
 * @param denoFlags Flags for `deno run` itself, such as `--cpu-prof`.
 * @param env More environment variables for the child.
 * @returns The running server.
 * @throws {Error} when the child exits or stays silent until the timeout.
 */
export async function spawnServer(
  script: string,
  args: string[] = [],
  timeoutMs = 30_000,
  denoFlags: string[] = [],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...denoFlags, script, ...args],
    cwd: repoRoot,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  const stderrTail: string[] = [];
  drain(child.stderr, stderrTail);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  let url = "";
  let key = "";
  const timer = setTimeout(() => reader.cancel(), timeoutMs);
  try {
    while (!url) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += value;
      let nl;
      while (!url && (nl = pending.indexOf("\n")) >= 0) {
        const got = parseStartLine(pending.slice(0, nl).trim());
        pending = pending.slice(nl + 1);
        url = got?.url || url;
        key = got?.key || key;
      }
    }
  } finally {
    clearTimeout(timer);
  }
  if (!url) {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    throw new Error(
      `Server did not print its address: ${script}\n${stderrTail.join("")}`,
    );
  }
  // Keep reading stdout so a chatty server never blocks on a full pipe.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch { /* closed */ }
  })();
  return {
    url,
    key,
    pid: child.pid,
    usage: () => processUsage(child.pid),
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
      }, 5000);
      await child.status;
      clearTimeout(timer);
    },
  };
}

function drain(stream: ReadableStream<Uint8Array>, tail: string[]): void {
  (async () => {
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        tail.push(text);
        if (tail.length > 20) tail.shift();
      }
    } catch { /* closed */ }
  })();
}

/**
 * Spawns our server in dev mode on a database file.
 *
 * @param db The SQLite file to use.
 * @param extra More server flags.
 * @param denoFlags Flags for `deno run` itself, such as `--cpu-prof`.
 * @param env More environment variables, such as `BUS_EMPTY_HOLD_MS`.
 * @returns The running server, with the generated master key.
 */
export function spawnBusServer(
  db: string,
  extra: string[] = [],
  denoFlags: string[] = [],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  return spawnServer(
    "server/main.ts",
    [
      "--dev",
      "--port",
      "0",
      "--db",
      db,
      ...extra,
    ],
    30_000,
    denoFlags,
    env,
  );
}

/**
 * Where {@linkcode withBusServer} puts its fresh databases: null for a
 * SQLite file in a temp dir, or a PostgreSQL URL (the profile runner's
 * `--postgres`), on whose server each spawned server gets a new database.
 */
let postgresUrl: string | null = null;

/**
 * Makes {@linkcode withBusServer} run servers on fresh databases of this
 * PostgreSQL server, or again on SQLite files (null).
 *
 * @param url A superuser's URL, or null.
 */
export function usePostgres(url: string | null): void {
  postgresUrl = url;
}

/**
 * Runs `fn` against our server spawned on a fresh temporary database (a
 * SQLite file, or a PostgreSQL database after {@linkcode usePostgres}), then
 * stops the server and removes the database, whatever happens.
 *
 * @param fn What to do with the running server.
 * @param denoFlags Flags for `deno run` itself, such as `--cpu-prof`.
 * @param env More environment variables for the server.
 * @param extra More server flags, such as `--no-extensions`.
 * @returns What `fn` returned.
 */
export async function withBusServer<T>(
  fn: (server: ServerProcess) => Promise<T>,
  denoFlags: string[] = [],
  env: Record<string, string> = {},
  extra: string[] = [],
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "bench_server_" });
  const pg = postgresUrl === null ? null : await createDatabase(postgresUrl);
  try {
    const server = await spawnBusServer(
      pg?.url ?? `${dir}/bus.db`,
      extra,
      denoFlags,
      env,
    );
    try {
      return await fn(server);
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await pg?.drop();
  }
}

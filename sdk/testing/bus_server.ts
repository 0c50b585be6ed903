/**
 * Starts the real Intent Bus server (`server/main.ts --dev --port 0`) as a
 * child process on a temporary database, for end-to-end tests of the SDK. It
 * reads the bound URL and the generated master key and admin token from the
 * server's JSON log lines on stdout. With `INTENTBUS_TEST_STORE=postgres`
 * (and `INTENTBUS_PG_URL`, as `deno task test` sets) the database is a fresh
 * PostgreSQL database instead of a SQLite file.
 *
 * @example
 * ```ts ignore
 * import { startBusServer } from "./bus_server.ts";
 *
 * await using bus = await startBusServer();
 * console.log(bus.url, bus.masterKey.length > 0);
 * ```
 *
 * @module
 */

/** A running server child process. */
export interface BusServer extends AsyncDisposable {
  url: string;
  masterKey: string;
  adminToken: string;
  /** The temporary directory holding the database. */
  dir: string;
  /** Stops the server (SIGTERM) and removes its directory. */
  close(): Promise<void>;
}

/** Options of {@linkcode startBusServer}. */
export interface BusServerOptions {
  /** Extra command-line flags. */
  args?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Milliseconds to wait for the server to listen; default 30,000. */
  timeoutMs?: number;
}

/**
 * The checkout whose `server/main.ts` runs: this one, or the directory named
 * by `INTENT_BUS_SERVER_ROOT` (to test the SDK against another server build).
 */
function serverRoot(): string | URL {
  return Deno.env.get("INTENT_BUS_SERVER_ROOT") ??
    new URL("../../", import.meta.url);
}

/**
 * Starts a server and waits until it listens.
 *
 * @param options Flags, environment and start timeout.
 * @returns The running server.
 * @throws {Error} when it exits or does not listen in time.
 */
export async function startBusServer(
  options: BusServerOptions = {},
): Promise<BusServer> {
  const dir = await Deno.makeTempDir({ prefix: "intentbus-sdk-" });
  const pgUrl = Deno.env.get("INTENTBUS_TEST_STORE") === "postgres"
    ? Deno.env.get("INTENTBUS_PG_URL")
    : undefined;
  const pg = pgUrl
    ? await (await import("../../storage/postgres/_cluster.ts"))
      .createDatabase(pgUrl)
    : null;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "server/main.ts",
      "--dev",
      "--port",
      "0",
      "--log-level",
      "warn",
      "--db",
      pg?.url ?? `${dir}/bus.db`,
      ...(options.args ?? []),
    ],
    cwd: serverRoot(),
    env: { BUS_SECRET: "", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const found: Record<string, string> = {};
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const timer = setTimeout(
    () => child.kill("SIGKILL"),
    options.timeoutMs ?? 30_000,
  );
  // Secrets given in the environment are not logged: take them from there.
  if (options.env?.BUS_SECRET) found.master_key = options.env.BUS_SECRET;
  if (options.env?.BUS_ADMIN_SECRET) {
    found.admin_token = options.env.BUS_ADMIN_SECRET;
  }
  while (!(found.url && found.master_key && found.admin_token)) {
    const { value, done } = await lines.read();
    if (done) {
      clearTimeout(timer);
      await child.status;
      throw new Error(
        `Server exited before listening: ${JSON.stringify(found)}`,
      );
    }
    buffered += value;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        Object.assign(found, JSON.parse(line));
      } catch {
        // Not a log line.
      }
    }
  }
  clearTimeout(timer);
  // Keep draining stdout so the child never blocks on a full pipe.
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })().catch(() => {});
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await child.status;
      await drained;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await pg?.drop();
    })();
  return {
    url: found.url,
    masterKey: found.master_key,
    adminToken: found.admin_token,
    dir,
    close,
    [Symbol.asyncDispose]: close,
  };
}

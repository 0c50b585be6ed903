/**
 * Spawns `server/main.ts` as a child process on a free loopback port, for
 * end-to-end tests over real HTTP.
 *
 * @module
 */

const MAIN = new URL("../server/main.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** A running server process. */
export interface ServerChild {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  child: Deno.ChildProcess;
  /** Kills with `signal` and waits for the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

/**
 * Starts the server on `db` and waits for its address line.
 *
 * @param db The database file.
 * @param env Extra environment; `BUS_SECRET` is `e2e-master` unless given.
 * @returns The running server.
 */
export async function startServer(
  db: string,
  env: Record<string, string> = {},
): Promise<ServerChild> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      CONFIG,
      MAIN,
      "--port",
      "0",
      "--db",
      db,
      "--log-level",
      "warn",
    ],
    env: { BUS_SECRET: "e2e-master", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let url = "";
  while (url === "") {
    const { done, value } = await reader.read();
    if (done) throw new Error("server exited before listening");
    buf += value;
    let nl;
    while ((nl = buf.indexOf("\n")) !== -1) {
      const line = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (typeof line.url === "string") url = line.url;
    }
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })().catch(() => {});
  return {
    url,
    child,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
      return (await child.status).code;
    },
  };
}

/**
 * Publishes with 10 concurrent publishers until `count` intents got a 201,
 * then kills the server with SIGKILL mid-publish and waits for it to die.
 *
 * @param server The server to crash; its master key is `e2e-master`.
 * @param count How many acknowledged intents before the kill.
 * @param goal The goal to publish to.
 * @returns The ids of every intent that got a 201.
 */
export async function publishThenKill(
  server: ServerChild,
  count: number,
  goal = "g",
): Promise<string[]> {
  const headers = {
    "X-API-KEY": "e2e-master",
    "Content-Type": "application/json",
  };
  const acknowledged: string[] = [];
  let killed = false;
  const publisher = async (p: number) => {
    for (let i = 0; !killed; i++) {
      try {
        const res = await fetch(`${server.url}/intent`, {
          method: "POST",
          headers,
          body: JSON.stringify({ goal, payload: { p, i } }),
        });
        if (res.status === 201) acknowledged.push((await res.json()).id);
        else await res.body?.cancel();
      } catch {
        return; // The server is gone.
      }
      if (acknowledged.length >= count && !killed) {
        killed = true;
        server.child.kill("SIGKILL");
      }
    }
  };
  await Promise.all(Array.from({ length: 10 }, (_, p) => publisher(p)));
  await server.child.status;
  return acknowledged;
}

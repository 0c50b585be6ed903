/**
 * Test helpers for the Termux installer: a runit service's `run` script
 * started by hand, a wait for `/health`, one HTTP call, a directory snapshot.
 *
 * @module
 */

import { join } from "node:path";
import type { FakeTermux } from "./_fake_termux.ts";

/** A free loopback port (the OS picks it; closed again at once). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A runit service started by hand: its `run` script in its directory. */
export interface Service {
  /** The process `run` became (it `exec`s the program). */
  child: Deno.ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** SIGTERM, as `sv down` sends, then its exit status. */
  stop(): Promise<Deno.CommandStatus>;
}

/** Runs service `name`'s `run` script in its directory, as runsv does. */
export function startService(fake: FakeTermux, name: string): Service {
  const dir = join(fake.prefix, "var", "service", name);
  const child = new Deno.Command(join(dir, "run"), {
    cwd: dir,
    env: fake.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  return {
    child,
    output: () => text,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      const status = await child.status;
      await drained;
      return status;
    },
  };
}

/** Polls `url/health` until it answers ok; throws if the service exits. */
export async function waitHealthy(
  url: string,
  service: Service,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`);
      const body = await res.json();
      if (res.ok && body.ok === true) return;
    } catch {
      // Not listening yet.
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      service.child.status.then(() => true),
      new Promise<boolean>((r) => timer = setTimeout(r, 100, false)),
    ]);
    clearTimeout(timer);
    if (exited) {
      throw new Error(`service exited before /health: ${service.output()}`);
    }
  }
  throw new Error(`no /health within 60 s: ${service.output()}`);
}

/** One JSON request with `X-API-KEY`. */
export async function call(
  method: string,
  url: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> | null }> {
  const res = await fetch(url, {
    method,
    headers: { "X-API-KEY": key, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** Every file under `dir` with its text, for before/after comparisons. */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      for (const [p, t] of await snapshot(path)) files.set(p, t);
    } else if (entry.isFile) files.set(path, await Deno.readTextFile(path));
  }
  return files;
}

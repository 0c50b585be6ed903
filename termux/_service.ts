/**
 * Test helpers for the Termux installer: the packed tarball, a runit
 * service's `run` script started by hand, a wait for `/health`, HTTP calls,
 * the env file's values, a directory snapshot.
 *
 * @module
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
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

/** The repository root. */
export const ROOT = new URL("..", import.meta.url).pathname;
/** The installer under test. */
export const INSTALL = join(ROOT, "termux", "install.sh");
/** The uninstaller under test. */
export const UNINSTALL = join(ROOT, "termux", "uninstall.sh");
/**
 * Where `deno task build:npm` puts the tarballs, or `INTENTBUS_NPM_DIST`: the
 * `npm-build/dist` of another checkout, built there so this one's is left
 * alone while other tests use it.
 */
export const DIST = Deno.env.get("INTENTBUS_NPM_DIST") ??
  join(ROOT, "npm-build", "dist");

/**
 * Whether a packed server's `intentbus` can issue a key offline
 * (`keys create --db`), as install.sh needs: a tarball built before that
 * cannot install a server.
 */
function issuesKeysOffline(tarball: string): boolean {
  try {
    return execFileSync("tar", [
      "-xzOf",
      tarball,
      "package/server/cli/keys.js",
    ], { encoding: "utf8" }).includes("open_store");
  } catch {
    return false;
  }
}

/**
 * The packed server tarball: the one whose package has an intentbus bin;
 * `deno task build:npm` makes it first when `npm-build/dist/` has none, or
 * only one too old for install.sh (no `keys create --db`).
 */
export async function serverTarball(): Promise<string> {
  const find = async () => {
    try {
      for await (const entry of Deno.readDir(DIST)) {
        if (!entry.name.endsWith(".tgz")) continue;
        const file = join(DIST, entry.name);
        const pkg = JSON.parse(execFileSync("tar", [
          "-xzOf",
          file,
          "package/package.json",
        ], { encoding: "utf8" }));
        if (pkg.bin?.intentbus && issuesKeysOffline(file)) return file;
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return undefined;
  };
  // Test files run in parallel: one builds while the others wait, so none
  // reads a tarball half written.
  const lock = await Deno.open(
    join(Deno.env.get("TMPDIR") ?? "/tmp", "intentbus_termux_build.lock"),
    { create: true, write: true },
  );
  try {
    await lock.lock(true);
    const found = await find();
    if (found) return found;
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["task", "build:npm"],
      cwd: ROOT,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    assert.equal(build.code, 0, "deno task build:npm failed");
    const built = await find();
    assert.ok(
      built,
      `no tarball with bin "intentbus" and keys create --db in ${DIST}`,
    );
    return built;
  } finally {
    lock.close();
  }
}

/** Values of `NAME='value'` lines of the env file. */
export function envValues(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const m of text.matchAll(/^([A-Z_]+)='([^']*)'$/gm)) values[m[1]] = m[2];
  return values;
}

/** Polls `/result/<id>` until the intent is fulfilled; returns its result. */
export async function pollResult(url: string, key: string): Promise<unknown> {
  const deadline = Date.now() + 30_000;
  let last: unknown = null;
  while (Date.now() < deadline) {
    const res = await call("GET", url, key);
    last = res.json;
    if (res.json?.status === "fulfilled") return res.json.result;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not fulfilled within 30 s: ${JSON.stringify(last)}`);
}

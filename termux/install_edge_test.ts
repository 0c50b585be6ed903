/**
 * The Termux installer's edge cases, each on its own fake Termux (see
 * `_fake_termux.ts`): a database on shared storage, a port out of range, a
 * worker for a server elsewhere, and a service daemon that has not seen the
 * new service yet.
 *
 * @module
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { startServer } from "../tests/_server.ts";
import { makeFakeTermux } from "./_fake_termux.ts";
import {
  call,
  envValues,
  INSTALL,
  pollResult,
  serverTarball,
  startService,
} from "./_service.ts";

Deno.test("install.sh refuses a database on shared storage before installing anything", async () => {
  const fake = await makeFakeTermux();
  try {
    // Termux's ~/storage/shared is a symlink into shared storage.
    await Deno.mkdir(join(fake.root, "emulated"));
    await Deno.mkdir(join(fake.home, "storage"));
    await Deno.symlink(
      join(fake.root, "emulated"),
      join(fake.home, "storage", "shared"),
    );
    for (
      const db of [
        "/sdcard/intentbus.db",
        "/storage/emulated/0/bus/intentbus.db",
        join(fake.home, "storage", "shared", "intentbus.db"),
      ]
    ) {
      const run = await fake.sh(INSTALL, ["--db", db]);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stderr, /refusing database on shared storage/);
    }
    assert.deepEqual(await fake.calls(), []);
    await assert.rejects(Deno.stat(join(fake.home, ".intentbus")));
  } finally {
    await Deno.remove(fake.root, { recursive: true });
  }
});

Deno.test("install.sh refuses a port outside 1 to 65535 with exit code 2 before installing anything", async () => {
  const fake = await makeFakeTermux();
  try {
    for (const port of ["0", "65536", "99999", "08080", "1234567", "80a"]) {
      const run = await fake.sh(INSTALL, ["--port", port]);
      assert.equal(run.code, 2, `--port ${port}: ${run.stdout}${run.stderr}`);
      assert.equal(
        run.stderr,
        `intentbus: error: invalid --port: "${port}" (1 to 65535)\n`,
      );
    }
    // The bounds pass: the run stops at the next check, on --worker.
    for (const port of ["1", "65535"]) {
      const run = await fake.sh(INSTALL, ["--port", port, "--worker", "w"]);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.equal(run.stderr, "intentbus: error: --worker needs --command\n");
    }
    // Every bad option exits 2, as the intentbus CLI's usage errors do.
    for (
      const args of [["--driver", "sqlite"], ["--bogus"], ["--port"], [
        "--no-server",
      ]]
    ) {
      const run = await fake.sh(INSTALL, args);
      assert.equal(run.code, 2, `${args}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, /^intentbus: error: /);
    }
    // A worker-only install names the server it works for, before pkg runs.
    const worker = ["--no-server", "--worker", "w", "--command", "cat"];
    for (
      const [more, message] of [
        [["--api-key", "K"], "--no-server needs --url URL"],
        [["--url", "http://10.0.0.2:8080"], "--no-server needs --api-key KEY"],
      ]
    ) {
      const run = await fake.sh(INSTALL, [...worker, ...more]);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.match(run.stderr, new RegExp(`^intentbus: error: ${message}`));
    }
    assert.deepEqual(await fake.calls(), []);
    await assert.rejects(Deno.stat(join(fake.home, ".intentbus")));
  } finally {
    await Deno.remove(fake.root, { recursive: true });
  }
});

Deno.test("install.sh --no-server installs only a worker, without a SQLite driver, for a server elsewhere", async () => {
  const fake = await makeFakeTermux();
  const dir = await Deno.makeTempDir();
  const server = await startServer(join(dir, "bus.db"), {
    BUS_SECRET: "elsewhere-key",
  });
  try {
    const tarball = join(fake.root, "intentbus-server.tgz");
    await Deno.copyFile(await serverTarball(), tarball);
    const worker = "intentbus-worker-upper";
    const run = await fake.sh(INSTALL, [
      "--package",
      tarball,
      "--no-server",
      "--url",
      server.url,
      "--api-key",
      "elsewhere-key",
      "--worker",
      "upper",
      "--command",
      "tr a-z A-Z",
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /API key/);
    const sv = join(fake.prefix, "var", "service");
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(sv))).map((e) => e.name),
      [worker],
    );
    const app = join(fake.home, ".intentbus", "app", "node_modules");
    await assert.rejects(Deno.stat(join(app, "better-sqlite3")));
    const env = envValues(
      await Deno.readTextFile(join(fake.home, ".intentbus", "env")),
    );
    assert.equal(env.INTENT_BUS_URL, server.url);
    assert.equal(env.INTENT_API_KEY, "elsewhere-key");
    assert.equal(env.BUS_SECRET, undefined);
    const work = startService(fake, worker);
    try {
      const published = await call(
        "POST",
        `${server.url}/intent`,
        "elsewhere-key",
        { goal: "upper", payload: "shout" },
      );
      assert.equal(published.status, 201);
      const result = await pollResult(
        `${server.url}/result/${published.json?.id}`,
        "elsewhere-key",
      );
      assert.equal(result, "SHOUT");
    } finally {
      const status = await work.stop();
      assert.equal(status.code, 0, work.output());
    }
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(fake.root, { recursive: true });
  }
});

Deno.test("install.sh still finishes and prints the key when runsv has not picked up the service yet", async () => {
  const fake = await makeFakeTermux();
  try {
    const tarball = join(fake.root, "intentbus-server.tgz");
    await Deno.copyFile(await serverTarball(), tarball);
    // As on a phone whose service daemon has not scanned the new directory.
    for (const name of ["sv", "sv-enable", "svlogd"]) {
      await Deno.writeTextFile(
        join(fake.prefix, "bin", name),
        `#!/bin/sh\necho "${name} $*" >>"$FAKE_TERMUX_CALLS"\n` +
          `echo "fail: $1: runsv not running" >&2\nexit 1\n`,
        { mode: 0o755 },
      );
    }
    const run = await fake.sh(INSTALL, ["--package", tarball]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /API key for your scripts and the workers \(shown once[^)]*\): ib_/,
    );
    assert.match(run.stdout, /starting within seconds: intentbus/);
    assert.deepEqual(await fake.calls(), ["sv-enable intentbus"]);
    // Without its down file, runsv starts the service as soon as it sees it.
    const service = join(fake.prefix, "var", "service", "intentbus");
    await assert.rejects(Deno.stat(join(service, "down")));
    assert.ok((await Deno.stat(join(service, "run"))).isFile);
  } finally {
    await Deno.remove(fake.root, { recursive: true });
  }
});

Deno.test("install.sh stops before writing settings or services when the package cannot issue the workers' key, and --api-key gets past it", async () => {
  const fake = await makeFakeTermux();
  try {
    // A package whose intentbus has no keys --db, as releases before it.
    const dir = join(fake.root, "old");
    await Deno.mkdir(dir);
    execFileSync("tar", ["-xzf", await serverTarball(), "-C", dir]);
    await Deno.writeTextFile(
      join(dir, "package", "server", "cli", "keys.js"),
      `export async function keysCommand() {
  process.stderr.write("intentbus: Unknown option '--db'\\n");
  return 2;
}
`,
    );
    const tarball = join(fake.root, "intentbus-server-old.tgz");
    execFileSync("tar", ["-czf", tarball, "-C", dir, "package"]);
    const run = await fake.sh(INSTALL, ["--package", tarball]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /Unknown option '--db'/);
    assert.match(run.stderr, /could not issue the workers' API key/);
    const base = join(fake.home, ".intentbus");
    await assert.rejects(Deno.stat(join(base, "env")));
    await assert.rejects(Deno.stat(join(fake.prefix, "var", "service")));
    assert.ok(!(await fake.calls()).some((c) => /^sv/.test(c)));

    const given = await fake.sh(INSTALL, [
      "--package",
      tarball,
      "--api-key",
      "ib_given",
    ]);
    assert.equal(given.code, 0, given.stdout + given.stderr);
    const env = envValues(await Deno.readTextFile(join(base, "env")));
    assert.equal(env.INTENT_API_KEY, "ib_given");
    assert.notEqual(env.BUS_SECRET, "ib_given");
    // No key was issued, so none is shown; the master key is not either.
    assert.doesNotMatch(given.stdout, /API key for your scripts/);
    assert.ok(!given.stdout.includes(env.BUS_SECRET), given.stdout);
  } finally {
    await Deno.remove(fake.root, { recursive: true });
  }
});

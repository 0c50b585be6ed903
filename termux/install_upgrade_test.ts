/**
 * Running the Termux installer again, as the README's Upgrade section says,
 * each on its own fake Termux (see `_fake_termux.ts`): every service an
 * earlier run made is rewritten and restarted, and a worker-only install
 * stays one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { type FakeTermux, makeFakeTermux } from "./_fake_termux.ts";
import {
  call,
  envValues,
  freePort,
  INSTALL,
  pollResult,
  serverTarball,
  snapshot,
  startService,
  UNINSTALL,
  waitHealthy,
} from "./_service.ts";

/** The server tarball again, as version `version`: a new release. */
async function repack(tarball: string, version: string): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: join(tarball, "..") });
  execFileSync("tar", ["-xzf", tarball, "-C", dir]);
  const file = join(dir, "package", "package.json");
  const pkg = JSON.parse(await Deno.readTextFile(file));
  await Deno.writeTextFile(file, JSON.stringify({ ...pkg, version }));
  const out = join(dir, `intentbus-server-${version}.tgz`);
  execFileSync("tar", ["-czf", out, "-C", dir, "package"]);
  return out;
}

/** Runs the installer; returns the service calls it made (not pkg's). */
async function install(fake: FakeTermux, args: string[]): Promise<string[]> {
  const before = (await fake.calls()).length;
  const run = await fake.sh(INSTALL, args);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  return (await fake.calls()).slice(before).filter((c) => !/^pkg /.test(c));
}

/** A worker's goal and command, as its run script reads them from conf. */
function workerConf(fake: FakeTermux, name: string): string[] {
  const conf = join(fake.prefix, "var", "service", name, "conf");
  return execFileSync("sh", [
    "-c",
    '. "$1" && printf "%s\\n%s" "$WORKER_GOAL" "$WORKER_COMMAND"',
    "sh",
    conf,
  ], { encoding: "utf8" }).split("\n");
}

Deno.test("an upgrade rewrites and restarts the server and every worker earlier runs installed", async () => {
  const fake = await makeFakeTermux();
  const sv = join(fake.prefix, "var", "service");
  const app = join(fake.home, ".intentbus", "app");
  try {
    const tarball = join(fake.root, "intentbus-server.tgz");
    await Deno.copyFile(await serverTarball(), tarball);
    assert.deepEqual(
      await install(fake, [
        "--package",
        tarball,
        "--worker",
        "my goal",
        "--command",
        "echo 'it''s one'",
      ]),
      [
        "start-services.sh",
        "sv-enable intentbus",
        "sv-enable intentbus-worker-my-goal",
      ],
    );
    assert.deepEqual(workerConf(fake, "intentbus-worker-my-goal"), [
      "my goal",
      "echo 'it''s one'",
    ]);

    // A second worker is added to the first, not put in its place.
    assert.deepEqual(
      await install(fake, ["--worker", "other", "--command", "cat"]),
      [
        "start-services.sh",
        "sv restart intentbus",
        "sv restart intentbus-worker-my-goal",
        "sv-enable intentbus-worker-other",
      ],
    );

    // One an older install.sh made, without conf: restarted, not rewritten.
    const legacy = join(sv, "intentbus-worker-legacy");
    await Deno.mkdir(legacy);
    const legacyRun = "#!/bin/sh\nexec intentbus work legacy -- sh -c cat\n";
    await Deno.writeTextFile(join(legacy, "run"), legacyRun, { mode: 0o755 });

    const runs = async () => {
      const names = ["intentbus", "intentbus-worker-my-goal"];
      return await Promise.all(
        names.map((n) => Deno.readTextFile(join(sv, n, "run"))),
      );
    };
    const runsBefore = await runs();
    const changed = await repack(tarball, "0.1.1-upgrade");
    assert.deepEqual(await install(fake, ["--package", changed]), [
      "start-services.sh",
      "sv restart intentbus",
      "sv restart intentbus-worker-legacy",
      "sv restart intentbus-worker-my-goal",
      "sv restart intentbus-worker-other",
    ]);
    const installed = JSON.parse(
      await Deno.readTextFile(
        join(app, "node_modules", "@intentbus", "server", "package.json"),
      ),
    );
    assert.equal(installed.version, "0.1.1-upgrade");
    assert.deepEqual(await runs(), runsBefore);
    assert.equal(await Deno.readTextFile(join(legacy, "run")), legacyRun);
    assert.deepEqual(workerConf(fake, "intentbus-worker-my-goal"), [
      "my goal",
      "echo 'it''s one'",
    ]);
    assert.deepEqual(workerConf(fake, "intentbus-worker-other"), [
      "other",
      "cat",
    ]);

    // The same worker name again replaces that worker's command.
    await install(fake, ["--worker", "my goal", "--command", "echo two"]);
    assert.deepEqual(workerConf(fake, "intentbus-worker-my-goal"), [
      "my goal",
      "echo two",
    ]);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(sv))).map((e) => e.name).sort(),
      [
        "intentbus",
        "intentbus-worker-legacy",
        "intentbus-worker-my-goal",
        "intentbus-worker-other",
      ],
    );
  } finally {
    await Deno.remove(fake.root, { recursive: true });
  }
});

Deno.test("an upgrade from an install that gave the workers the master key keeps it, so intents published with it are still fulfilled; deleting the INTENT_API_KEY line issues a key of their own, printed to publish with", async () => {
  const fake = await makeFakeTermux();
  const envFile = join(fake.home, ".intentbus", "env");
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const readEnv = async () => envValues(await Deno.readTextFile(envFile));
  const shownKey =
    /API key for your scripts and the workers \(shown once[^)]*\): (\S+)/;
  try {
    const tarball = join(fake.root, "intentbus-server.tgz");
    await Deno.copyFile(await serverTarball(), tarball);
    await install(fake, [
      "--package",
      tarball,
      "--port",
      String(port),
      "--worker",
      "upper",
      "--command",
      "tr a-z A-Z",
    ]);
    const first = await readEnv();
    assert.match(first.INTENT_API_KEY, /^ib_/);
    const master = first.BUS_SECRET;
    // The env file as an older install.sh wrote it: the master key twice.
    const text = await Deno.readTextFile(envFile);
    await Deno.writeTextFile(
      envFile,
      text.replace(
        `INTENT_API_KEY='${first.INTENT_API_KEY}'`,
        `INTENT_API_KEY='${master}'`,
      ),
    );
    assert.equal((await readEnv()).INTENT_API_KEY, master);

    // Upgraded while the server runs, as on a phone.
    const server = startService(fake, "intentbus");
    let work: ReturnType<typeof startService> | undefined;
    // The worker service as runsv restarts it (sv is a fake here).
    const restartWorker = async () => {
      const status = await work?.stop();
      assert.equal(status?.code ?? 0, 0, work?.output());
      work = startService(fake, "intentbus-worker-upper");
    };
    const upper = async (key: string, payload: string) => {
      const published = await call("POST", `${url}/intent`, key, {
        goal: "upper",
        payload,
      });
      assert.equal(published.status, 201, JSON.stringify(published.json));
      return await pollResult(`${url}/result/${published.json?.id}`, key);
    };
    try {
      await waitHealthy(url, server);
      const before = await Deno.readTextFile(envFile);
      const run = await fake.sh(INSTALL, []);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      // The workers keep the master key: the user's scripts publish with it.
      assert.equal(await Deno.readTextFile(envFile), before);
      assert.doesNotMatch(run.stdout, /API key for your scripts/);
      assert.ok(!run.stdout.includes(master), run.stdout);
      const notice = run.stdout.split("\n").filter((l) => /master key/.test(l));
      assert.deepEqual(notice, [
        `intentbus: the workers use the master key; for a key of their own, delete the INTENT_API_KEY line of ${envFile}, run this installer again, then publish with the key it prints`,
      ]);
      await restartWorker();
      assert.equal(await upper(master, "still"), "STILL");

      // The README's way to a key of their own: delete the line, run again.
      const own = join(fake.root, "own_key.sh");
      await Deno.writeTextFile(
        own,
        `set -eu
sed -i '/^INTENT_API_KEY=/d' ~/.intentbus/env
sh "$1"
`,
      );
      const issued = await fake.sh(own, [INSTALL]);
      assert.equal(issued.code, 0, issued.stdout + issued.stderr);
      const key = issued.stdout.match(shownKey)?.[1];
      assert.ok(key, issued.stdout);
      assert.match(key, /^ib_[A-Za-z0-9_-]{43}$/);
      assert.notEqual(key, first.INTENT_API_KEY, "a fresh one");
      assert.doesNotMatch(issued.stdout, /workers use the master key/);
      const env = await readEnv();
      assert.equal(env.INTENT_API_KEY, key);
      assert.equal(env.BUS_SECRET, master);
      assert.equal(env.BUS_ADMIN_SECRET, first.BUS_ADMIN_SECRET);
      // The server, not restarted, takes it at once; the restarted worker
      // claims what is published with it.
      await restartWorker();
      assert.equal(await upper(key, "shout"), "SHOUT");

      // A later run keeps it, and shows no key.
      const later = await fake.sh(INSTALL, []);
      assert.equal(later.code, 0, later.stdout + later.stderr);
      assert.doesNotMatch(later.stdout, /API key|master key/);
      assert.equal((await readEnv()).INTENT_API_KEY, key);

      // termux/README.md's way to a new workers' key, revoking the old one.
      const recipe = join(fake.root, "new_key.sh");
      await Deno.writeTextFile(
        recipe,
        `set -eu
. ~/.intentbus/env
old=$INTENT_API_KEY
sed -i '/^INTENT_API_KEY=/d' ~/.intentbus/env
sh "$1"
~/.intentbus/app/node_modules/.bin/intentbus keys revoke "$old" --db "$BUS_DB_PATH"
`,
      );
      const renewed = await fake.sh(recipe, [INSTALL]);
      assert.equal(renewed.code, 0, renewed.stdout + renewed.stderr);
      assert.match(renewed.stdout, /revoked\n$/);
      const fresh = (await readEnv()).INTENT_API_KEY;
      assert.equal(renewed.stdout.match(shownKey)?.[1], fresh);
      assert.notEqual(fresh, key);
      await restartWorker();
      assert.equal(await upper(fresh, "again"), "AGAIN");
      // The server trusts a looked-up key for up to 5 s.
      const deadline = Date.now() + 20_000;
      const publish = async (k: string) =>
        (await call("POST", `${url}/intent`, k, { goal: "x", payload: 1 }))
          .status;
      while (await publish(key) !== 401) {
        assert.ok(Date.now() < deadline, "the revoked key still works");
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      const status: Deno.CommandStatus | undefined = await work?.stop();
      await server.stop();
      assert.equal(status?.code ?? 0, 0, work?.output());
    }

    // --api-key gives the workers that key instead, and is kept too.
    await install(fake, ["--api-key", "MINE"]);
    assert.equal((await readEnv()).INTENT_API_KEY, "MINE");
    await install(fake, []);
    assert.equal((await readEnv()).INTENT_API_KEY, "MINE");
  } finally {
    await Deno.remove(fake.root, { recursive: true });
  }
});

Deno.test("a run without options upgrades a worker-only install as one: no server, no new keys, its worker restarted", async () => {
  const fake = await makeFakeTermux();
  const sv = join(fake.prefix, "var", "service");
  const envFile = join(fake.home, ".intentbus", "env");
  const state = async () =>
    [
      ...await snapshot(join(fake.prefix, "var")),
      [envFile, await Deno.readTextFile(envFile)],
    ].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  try {
    const tarball = join(fake.root, "intentbus-server.tgz");
    await Deno.copyFile(await serverTarball(), tarball);
    await install(fake, [
      "--package",
      tarball,
      "--no-server",
      "--url",
      "http://127.0.0.1:18201",
      "--api-key",
      "REMOTEKEY",
      "--worker",
      "w1",
      "--command",
      "cat",
    ]);
    const before = await state();

    const callsBefore = (await fake.calls()).length;
    const run = await fake.sh(INSTALL, []);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /API key|admin token/);
    assert.deepEqual(await state(), before);
    assert.deepEqual((await fake.calls()).slice(callsBefore), [
      "start-services.sh",
      "sv restart intentbus-worker-w1",
    ]);
    const modules = join(fake.home, ".intentbus", "app", "node_modules");
    await assert.rejects(Deno.stat(join(modules, "better-sqlite3")));

    // A new worker, without --no-server, joins the first one for the same
    // server elsewhere.
    assert.deepEqual(
      await install(fake, ["--worker", "w2", "--command", "tr a-z A-Z"]),
      [
        "start-services.sh",
        "sv restart intentbus-worker-w1",
        "sv-enable intentbus-worker-w2",
      ],
    );
    const env = envValues(await Deno.readTextFile(envFile));
    assert.equal(env.INTENT_BUS_URL, "http://127.0.0.1:18201");
    assert.equal(env.INTENT_API_KEY, "REMOTEKEY");
    assert.equal(env.BUS_SECRET, undefined);
    assert.equal(env.BUS_ADMIN_SECRET, undefined);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(sv))).map((e) => e.name).sort(),
      ["intentbus-worker-w1", "intentbus-worker-w2"],
    );

    // uninstall.sh keeps the env file but removes the workers: a bare run
    // then has nothing to install, and says so instead of making a server.
    const gone = await fake.sh(UNINSTALL, []);
    assert.equal(gone.code, 0, gone.stdout + gone.stderr);
    const callsAfter = (await fake.calls()).length;
    const bare = await fake.sh(INSTALL, []);
    assert.equal(bare.code, 2, bare.stdout + bare.stderr);
    assert.match(bare.stderr, /worker only \(--no-server\) and has no worker/);
    assert.equal((await fake.calls()).length, callsAfter);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(sv)), []);
  } finally {
    await Deno.remove(fake.root, { recursive: true });
  }
});

Deno.test("--no-server on a phone that runs the server is refused before anything changes", async () => {
  const fake = await makeFakeTermux();
  const envFile = join(fake.home, ".intentbus", "env");
  try {
    const tarball = join(fake.root, "intentbus-server.tgz");
    await Deno.copyFile(await serverTarball(), tarball);
    await install(fake, ["--package", tarball]);
    const env = await Deno.readTextFile(envFile);
    const services = await snapshot(join(fake.prefix, "var"));
    const callsBefore = (await fake.calls()).length;
    const run = await fake.sh(INSTALL, [
      "--no-server",
      "--url",
      "http://127.0.0.1:18201",
      "--api-key",
      "REMOTEKEY",
      "--worker",
      "w1",
      "--command",
      "cat",
    ]);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /--no-server: this phone runs the server/);
    assert.equal(await Deno.readTextFile(envFile), env);
    assert.deepEqual(await snapshot(join(fake.prefix, "var")), services);
    assert.equal((await fake.calls()).length, callsBefore);
  } finally {
    await Deno.remove(fake.root, { recursive: true });
  }
});

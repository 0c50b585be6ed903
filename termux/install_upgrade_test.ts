/**
 * Running the Termux installer again, as the README's Upgrade section says,
 * on a fake Termux (see `_fake_termux.ts`): every service an earlier run made
 * is rewritten and restarted.
 *
 * @module
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { type FakeTermux, makeFakeTermux } from "./_fake_termux.ts";
import { INSTALL, serverTarball } from "./_service.ts";

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

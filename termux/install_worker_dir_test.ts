/**
 * Where a worker's command runs: runsv starts a service's `run` script in
 * the service directory, so the installer records the directory it was run
 * in and the run script goes there, letting `--command ./script.sh` work.
 * On a fake Termux (see `_fake_termux.ts`), with a worker-only install for a
 * server started here.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer } from "../tests/_server.ts";
import { type FakeTermux, makeFakeTermux } from "./_fake_termux.ts";
import {
  call,
  envValues,
  INSTALL,
  pollResult,
  serverTarball,
  startService,
} from "./_service.ts";

/** A script `x.sh` in `dir` printing `{"from":LABEL,"dir":<its pwd>}`. */
async function pwdScript(dir: string, label: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "x.sh"),
    `#!/bin/sh\ncat >/dev/null\nprintf '{"from":"${label}","dir":"%s"}' "$(pwd -P)"\n`,
    { mode: 0o755 },
  );
}

/** Publishes one intent of `goal`, runs the worker service until done. */
async function workOnce(
  fake: FakeTermux,
  url: string,
  key: string,
): Promise<unknown> {
  const work = startService(fake, "intentbus-worker-where");
  try {
    const published = await call("POST", `${url}/intent`, key, {
      goal: "where",
      payload: {},
      max_attempts: 1,
    });
    assert.equal(published.status, 201);
    return await pollResult(`${url}/result/${published.json?.id}`, key);
  } finally {
    const status = await work.stop();
    assert.equal(status.code, 0, work.output());
  }
}

Deno.test("a worker's relative --command runs from the directory install.sh was run in, and from $HOME for a worker installed before that was recorded", async () => {
  const fake = await makeFakeTermux();
  const dir = await Deno.makeTempDir();
  const server = await startServer(join(dir, "bus.db"), { BUS_SECRET: "k" });
  try {
    const tarball = join(fake.root, "intentbus-server.tgz");
    await Deno.copyFile(await serverTarball(), tarball);
    const scripts = join(fake.home, "jobs");
    await pwdScript(scripts, "jobs");
    await pwdScript(fake.home, "home");
    const run = await fake.sh(INSTALL, [
      "--package",
      tarball,
      "--no-server",
      "--url",
      server.url,
      "--api-key",
      "k",
      "--worker",
      "where",
      "--command",
      "./x.sh",
    ], scripts);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const conf = join(fake.prefix, "var/service/intentbus-worker-where/conf");
    const real = await Deno.realPath(scripts);
    assert.equal(envValues(await Deno.readTextFile(conf)).WORKER_DIR, real);
    assert.deepEqual(await workOnce(fake, server.url, "k"), {
      from: "jobs",
      dir: real,
    });

    // A conf an older install.sh wrote has no WORKER_DIR: after an upgrade
    // (a run without options, from elsewhere) the command runs from $HOME.
    const old = (await Deno.readTextFile(conf)).split("\n")
      .filter((line) => !line.startsWith("WORKER_DIR=")).join("\n");
    await Deno.writeTextFile(conf, old);
    const upgrade = await fake.sh(INSTALL, [], dir);
    assert.equal(upgrade.code, 0, upgrade.stdout + upgrade.stderr);
    assert.equal(await Deno.readTextFile(conf), old);
    assert.deepEqual(await workOnce(fake, server.url, "k"), {
      from: "home",
      dir: await Deno.realPath(fake.home),
    });

    // The directory it was installed from is gone (a deleted clone): the
    // command runs from $HOME instead of the service failing for ever.
    await Deno.writeTextFile(conf, `${old}\nWORKER_DIR='${real}'\n`);
    await Deno.remove(scripts, { recursive: true });
    assert.deepEqual(await workOnce(fake, server.url, "k"), {
      from: "home",
      dir: await Deno.realPath(fake.home),
    });
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(fake.root, { recursive: true });
  }
});
